// Textes de l'interface en français (Canada). Mêmes clés que en.js.
export default {
  language: { code: "fr-CA", name: "Français" },
  page: {
    join: "Rencontre",
    staff: "Quietroom – équipe",
    guide: "Se joindre à une rencontre",
  },
  quickExit: "Partir vite",
  quickExitKey: "(Échap)",
  consent: {
    title: "Avant de vous joindre à l'appel",
    privateTitle: "Ce qui reste privé",
    privateRecorded: "Rien n'est enregistré : ni l'image, ni le son, ni le clavardage.",
    privateE2ee:
      "L'appel est chiffré de bout en bout : le serveur de l'organisme le transmet, mais " +
      "ne peut ni le voir ni l'entendre.",
    privateStored:
      "Le clavardage disparaît à la fin de l'appel. Cette page ne garde rien sur votre appareil.",
    privateAddress:
      "Personne dans l'appel ne voit votre adresse Internet, qui pourrait dire où vous êtes : " +
      "tout passe par le serveur de l'organisme. (Ce que montre votre caméra peut tout de " +
      "même le dire.)",
    notPrivateTitle: "Ce que cette page ne peut pas protéger",
    notPrivateDevice:
      "Une personne qui a accès à votre téléphone ou à votre ordinateur, ou qui y a installé " +
      "un logiciel espion, pourrait voir ce que vous y faites. Si c'est possible, utilisez " +
      "un autre appareil.",
    notPrivateRoom:
      "Une personne dans la même pièce que vous, ou tout près, pourrait voir ou entendre l'appel.",
    notPrivateHistory:
      "L'historique de votre navigateur montrera quand même une visite sur ce site, sauf " +
      "si vous utilisez une fenêtre privée ou si vous effacez la visite ensuite.",
    historyTitle: "Utiliser une fenêtre privée ou effacer cette visite",
    historyChromeName: "Chrome",
    historyChrome:
      "Fenêtre privée : menu ⋮, puis « Nouvelle fenêtre de navigation privée » (sur un " +
      "téléphone : « Nouvel onglet de navigation privée »). Pour effacer la visite : " +
      "menu ⋮, « Historique », puis supprimez ce site.",
    historyFirefoxName: "Firefox",
    historyFirefox:
      "Fenêtre privée : menu ☰, puis « Nouvelle fenêtre privée ». Pour effacer la visite : " +
      "menu ☰, « Historique », « Gérer l'historique », puis clic droit sur ce site et " +
      "« Oublier ce site ».",
    historySafariName: "Safari",
    historySafari:
      "Fenêtre privée : « Fichier », puis « Nouvelle fenêtre privée » (sur un iPhone : le " +
      "bouton des onglets, puis « Privée »). Pour effacer la visite : « Historique », " +
      "« Afficher tout l'historique », sélectionnez ce site et appuyez sur Supprimer (sur " +
      "un iPhone : le bouton en forme de livre, « Historique », puis glissez vers la gauche).",
    historyEdgeName: "Edge",
    historyEdge:
      "Fenêtre privée : menu …, puis « Nouvelle fenêtre InPrivate ». Pour effacer la " +
      "visite : menu …, « Historique », puis le × à côté de ce site.",
    orgTitle: "Un mot de l'organisme",
    safeQuestion: "Êtes-vous dans un endroit où vous pouvez parler en sécurité en ce moment?",
    safeYes: "Oui, je peux parler",
    safeNo: "Non, pas maintenant",
    waysTitle: "Comment voulez-vous échanger?",
    video: "Vidéo",
    videoHint: "Vous vous voyez et vous vous entendez. Votre caméra et votre micro sont utilisés.",
    audio: "Audio seulement",
    audioHint: "Vous vous entendez. Votre caméra reste éteinte.",
    text: "Texte seulement",
    textHint:
      "Vous vous écrivez. Votre caméra et votre micro ne sont pas utilisés, et aucun son " +
      "ne joue à voix haute, à moins que vous n'activiez le son.",
    nameLabel: "Nom à afficher (facultatif)",
    nameHint: "Un prénom ou un surnom, c'est parfait.",
    test: "Tester la caméra et la connexion",
    testAudio: "Tester le micro et la connexion",
    join: "Me joindre à l'appel",
    exitNote:
      "En tout temps, appuyez sur Échap ou sur « Partir vite » : l'appel se ferme et un " +
      "site Web ordinaire s'ouvre à sa place.",
  },
  notSafe: {
    title: "C'est correct",
    body:
      "Vous pourrez revenir plus tard avec le même lien, tant que l'appel est ouvert, ou " +
      "joindre l'organisme d'une autre façon quand ce sera sécuritaire pour vous.",
    history:
      "Rien de cette page n'a été gardé, mais l'historique de votre navigateur pourrait " +
      "montrer cette visite.",
    exit: "Si quelqu'un pourrait voir votre écran, appuyez tout de suite sur « Partir vite ».",
    back: "Je peux parler maintenant",
  },
  echo: {
    title: "Test de votre connexion",
    running: "Test en cours : le serveur vous renvoie l'image de votre caméra et le son de votre micro…",
    runningAudio: "Test en cours : le serveur vous renvoie le son de votre micro…",
    works:
      "Votre caméra, votre micro et votre connexion fonctionnent. Vous pouvez vous joindre " +
      "à l'appel quand vous êtes prête ou prêt.",
    worksAudio:
      "Votre micro et votre connexion fonctionnent. Vous pouvez vous joindre à l'appel " +
      "quand vous êtes prête ou prêt.",
    audioOnly: "Votre micro et votre connexion fonctionnent, mais aucune image n'est revenue.",
    failed:
      "Rien n'est revenu. Vérifiez votre caméra et votre micro, ou essayez un autre réseau.",
    done: "Terminé",
  },
  lobby: {
    title: "Salle d'attente",
    waiting: "On vous fera entrer dans un instant…",
  },
  call: {
    title: "Appel",
    videos: "Personnes dans l'appel",
    controls: "Commandes de l'appel",
    mute: "Couper le micro",
    unmute: "Ouvrir le micro",
    cameraOff: "Éteindre la caméra",
    cameraOn: "Allumer la caméra",
    modeVideo: "Vidéo",
    modeAudio: "Audio seulement",
    modeText: "Texte seulement",
    audioOnly: "Audio seulement",
    videoBack: "Revenir à la vidéo",
    soundOn: "Activer le son",
    soundOff: "Couper le son",
    cantTalk: "Je ne peux pas parler",
    cantTalkKeys: "Alt+Maj+H",
    chat: "Clavardage",
    leave: "Quitter l'appel",
    you: "Vous",
    textOnlyNote: "texte seulement",
    audioOnlyNote: "audio seulement : vidéo en pause, le son continue",
    weakNote: "vidéo en pause : connexion faible; le son continue",
    peerAudioOnly: "audio seulement",
    peerTextOnly: "texte seulement",
    peerWeak: "vidéo en pause : connexion faible",
    peerReconnecting: "reconnexion…",
    micIsOff: "micro coupé",
    cameraIsOff: "caméra éteinte",
    reconnecting: "Reconnexion…",
    practice: "Appel de pratique",
    phoneCode:
      "Pour le son, utilisez un téléphone : composez le {number}, puis entrez le code {code}.",
    phoneVoice:
      "Votre téléphone transmet votre son. Raccrochez le téléphone pour retrouver le son " +
      "de cet appareil.",
    phoneOf: "{name} (téléphone)",
    phoneCaller: "Personne au téléphone",
    phoneOnly: "au téléphone seulement",
    yourPhone: "Votre téléphone",
  },
  chat: {
    title: "Clavardage",
    note: "Les messages ne sont pas gardés : ils disparaissent à la fin de l'appel.",
    label: "Message",
    send: "Envoyer",
    you: "Vous",
    cleared: "Le clavardage a été effacé.",
  },
  cantTalk: {
    title: "Notes",
    body: "Rien pour l'instant.",
    back: "Retour",
  },
  checkIn: {
    question: "Est-ce que tout est encore confortable et sécuritaire pour vous?",
    ok: "Oui",
    text: "Passer au texte",
    audio: "Passer à l'audio seulement",
    go: "Je dois partir",
  },
  done: {
    title: "Au revoir",
    left: "Vous avez quitté l'appel.",
    ended: "L'appel est terminé.",
    restarting: "L'appel est terminé : le serveur redémarre.",
    denied: "La personne qui anime l'appel ne vous a pas fait entrer.",
    badLink: "Ce lien n'est pas valide. L'appel est peut-être terminé ou expiré.",
    noLink: "Pour vous joindre à l'appel, ouvrez le lien qu'on vous a envoyé.",
    cannotConnect:
      "Ce navigateur n'a pas pu établir l'appel. Essayez une version récente de Firefox, " +
      "de Chrome ou de Safari.",
    lost: "La connexion a été perdue.",
    opensAt:
      "Ce lien ouvrira le {time}. Revenez à ce moment-là : le même lien fonctionnera.",
    closed: "Ce lien est fermé pour l'instant.",
    after:
      "Vous pouvez fermer cette page. Si vous n'avez pas utilisé de fenêtre privée, vous " +
      "voudrez peut-être effacer cette visite de l'historique de votre navigateur.",
  },
  plan: {
    title: "Si l'appel coupe",
    for: {
      "staff-calls-back":
        "Si l'appel coupe, nous vous rappellerons avec ce lien : ouvrez-le de nouveau et " +
        "attendez qu'on vous fasse entrer. Nous essaierons pendant {minutes} minutes.",
      "survivor-calls-back":
        "Si l'appel coupe, rappelez-nous : ouvrez ce lien de nouveau d'ici {minutes} minutes.",
      wait:
        "Si l'appel coupe, nous vous attendrons {minutes} minutes, le temps que vous " +
        "rouvriez ce lien.",
    },
    note: "Aussi : ",
    timeLeft: "Temps restant : {time}",
    timeUp: "Le temps convenu est écoulé.",
    choices: {
      "staff-calls-back": "Je vous rappelle avec ce lien",
      "survivor-calls-back": "Rappelez-moi avec ce lien",
      wait: "Je vous attends",
    },
    summary: "{title} : {choice} ({minutes} min)",
    minutes: "Minutes",
    noteLabel: "Note pour la personne survivante (facultatif)",
  },
  staff: {
    signInTitle: "Connexion de l'équipe",
    name: "Nom",
    password: "Mot de passe",
    code: "Code de votre application d'authentification",
    signIn: "Me connecter",
    signOut: "Me déconnecter",
    badLogin: "Nom ou mot de passe incorrect.",
    readyTitle: "Avant vos appels",
    readyQuiet: "Je suis dans un endroit calme et isolé, où personne ne peut entendre.",
    readyHeadphones: "J'utilise des écouteurs.",
    readyDevice: "J'utilise l'appareil et le compte de l'organisme, pas les miens.",
    readyConfirm: "Confirmer",
    readyThanks: "Merci. Vous êtes prête ou prêt pour vos appels.",
    readyFirst: "Avant de vous joindre à un appel, veuillez confirmer les trois points ci-dessus.",
    adminTitle: "Tous les appels de ce serveur",
    adminHint:
      "Comme administratrice ou administrateur, vous voyez combien d'appels sont en cours, " +
      "pas à qui ils sont, et vous pouvez mettre fin à n'importe lequel.",
    running: "Appels en cours : {count}.",
    runningOne: "Appels en cours : 1.",
    adminCall: "{inCall} dans l'appel · {waiting} en attente · {minutes} min restantes",
    adminEnd: "Terminer cet appel",
    adminEndSure: "Vraiment le terminer pour tout le monde?",
    newCallTitle: "Nouvel appel",
    newCall: "Créer l'appel",
    checkInMinutes: "Rappel pour prendre des nouvelles, en minutes (0 : aucun rappel)",
    cannotCreate: "L'appel n'a pas pu être créé.",
    yourCalls: "Vos appels",
    noCalls: "Aucun appel pour l'instant.",
    survivorLink: "Lien pour la personne survivante",
    interpreterLink: "Lien pour l'interprète",
    joinCall: "Entrer dans l'appel",
    endCall: "Terminer l'appel pour tout le monde",
    waitingLine: "Quelqu'un attend : {name} ({role}, {mode})",
    waitingPhone: "Quelqu'un attend : {name}",
    waitingCount: "{count} en attente",
    copy: "Copier",
    copied: "Copié",
    admit: "Faire entrer",
    deny: "Refuser",
    noName: "(aucun nom donné)",
    expires: "expire dans {minutes} min",
    minutes: "min",
    checkInEvery: "prendre des nouvelles toutes les {minutes} min",
    practice:
      "Appel de pratique (pour répéter avec une ou un collègue ou une ou un interprète; ses liens sont toujours ouverts)",
    windowTitle: "Plage horaire propre à l'appel (facultatif)",
    windowHint: "Les liens ouvrent seulement pendant cette plage, au lieu des heures de service de l'organisme.",
    windowStart: "De",
    windowEnd: "À",
    opensAt: "liens ouverts à partir du {time}",
    linksClosed: "liens fermés",
    openAnyway: "Ouvrir les liens maintenant",
    closeAgain: "Revenir aux heures prévues",
    handoutTitle: "Feuillet pour les personnes survivantes",
    handoutText:
      "Une page à imprimer qui explique comment se joindre à l'appel en sécurité. " +
      "Envoyez-la ou imprimez-la avant l'appel.",
    handout: "Ouvrir le feuillet pour l'imprimer",
    copyHandout: "Copier le lien du feuillet",
    peopleTitle: "Personnes dans l'appel",
    lobbyTitle: "Salle d'attente",
    checkIn: "Prendre des nouvelles",
    checkInSent: "Question envoyée : « Est-ce que tout est encore confortable et sécuritaire pour vous? »",
    reminder: "Cela fait {minutes} minutes. C'est peut-être le bon moment pour prendre des nouvelles?",
    modes: { video: "vidéo", audio: "audio seulement", text: "texte seulement" },
    cantTalk: "ne peut pas parler",
    away: "reconnexion",
    quality: { good: "connexion bonne", weak: "connexion faible" },
    qualityAudioOnly: "audio seulement",
    qualityLoss: "{n} % perdu",
    qualityRtt: "aller-retour {n} ms",
    qualityKbps: "{n} kbit/s",
    answers: {
      ok: "{name} : oui, tout est encore confortable et sécuritaire.",
      text: "{name} demande de passer au texte. Sa page est passée au texte.",
      audio: "{name} demande de passer à l'audio seulement. Sa page a changé.",
      go: "{name} doit partir.",
    },
    cantTalkNotice:
      "{name} ne peut pas parler en ce moment. Votre micro est coupé jusqu'à son retour. Le plan :",
    backNotice: "{name} est de retour.",
    leftQuickly: "{name} est partie ou parti vite. Suivez le plan :",
    peerDropped: "La personne n'est pas revenue. Votre plan :",
    phoneAllow: "Permettre le son par téléphone",
    phoneStop: "Arrêter le son par téléphone",
    phoneOn:
      "Son par téléphone permis : les pages des autres montrent le numéro à composer et un " +
      "code personnel. Un téléphone dans l'appel fait que l'appel n'est plus chiffré de " +
      "bout en bout.",
    phoneOff:
      "Son par téléphone arrêté : les codes ne fonctionnent plus. Les téléphones déjà dans " +
      "l'appel y restent.",
    phoneE2ee:
      "Cet organisme exige le chiffrement de bout en bout, ce qu'un téléphone ne peut pas " +
      "faire : le son par téléphone reste désactivé.",
    hoursEnding:
      "Les heures de service se terminent à {time}. L'appel continue; personne d'autre " +
      "ne pourra entrer avec les liens après cette heure.",
  },
  announce: {
    joined: "{name} est dans l'appel.",
    left: "{name} a quitté l'appel.",
    mode: "{name} : {mode}.",
    weak: "Vidéo en pause : connexion faible. Le son continue.",
    videoBack: "La vidéo est revenue.",
    message: "Message de {name} : {text}",
    checkIn: "Question : est-ce que tout est encore confortable et sécuritaire pour vous?",
    cantTalk: "{name} ne peut pas parler en ce moment.",
  },
  guide: {
    title: "Se joindre à une rencontre en sécurité",
    intro:
      "Cette feuille explique comment vous joindre à une rencontre vidéo privée avec nous, " +
      "à partir d'un navigateur, et ce que vous pouvez faire pour rester en sécurité.",
    print: "Imprimer",
    orgTitle: "Un mot de l'organisme",
    deviceTitle: "Votre appareil",
    device:
      "Un appel est aussi privé que le téléphone ou l'ordinateur utilisé. Si quelqu'un " +
      "d'autre utilise votre appareil, connaît ses mots de passe ou a pu y installer un " +
      "logiciel espion, joignez-vous à partir d'un appareil auquel cette personne n'a pas " +
      "accès : celui d'une amie, d'une bibliothèque ou du travail.",
    historyTitle: "Fenêtres privées et historique",
    history:
      "Ouvrez le lien dans une fenêtre privée (navigation privée dans Chrome, Firefox et " +
      "Safari, InPrivate dans Edge) : votre navigateur ne garde alors pas la visite. Si vous " +
      "avez utilisé une fenêtre ordinaire, effacez la visite de l'historique après l'appel.",
    placeTitle: "Où vous installer",
    place:
      "Choisissez un endroit où personne ne peut entendre l'appel ni voir l'écran, dos à " +
      "un mur plutôt qu'à une porte ou une fenêtre. Pensez à ce que la caméra montre derrière vous.",
    headphonesTitle: "Écouteurs",
    headphones:
      "Avec des écouteurs, la voix de l'autre personne reste privée. Sans écouteurs, les " +
      "gens autour de vous pourraient l'entendre.",
    planTitle: "Si l'appel coupe",
    plan:
      "Avant l'appel, nous convenons de ce qui se passe s'il coupe : qui rappelle, avec " +
      "quel lien, et combien de temps nous attendons. La page vous montre ce plan avant " +
      "que vous vous joigniez à l'appel.",
    exitTitle: "Partir vite",
    exit:
      "Le bouton « Partir vite » (ou la touche Échap) ferme l'appel tout de suite, vide la " +
      "page et ouvre un site Web ordinaire à sa place. Le bouton Précédent ne ramène pas l'appel.",
    waysTitle: "D'autres façons d'échanger",
    ways:
      "Vous pouvez choisir l'audio seulement (sans caméra) ou le texte seulement (sans " +
      "caméra, sans micro, sans son à voix haute). Vous pouvez changer pendant l'appel, ou " +
      "appuyer sur « Je ne peux pas parler » (Alt+Maj+H au clavier) pour cacher l'appel " +
      "derrière un écran neutre.",
  },
  e2ee: {
    on: "Chiffré de bout en bout : seules les personnes de cet appel peuvent le voir et l'entendre.",
    code: "Code de sécurité : {code}",
    codeHint:
      "Lisez-le à voix haute : s'il est le même sur tous les écrans de l'appel, personne " +
      "entre vous ne peut le voir ni l'entendre.",
    waiting: "Mise en place du chiffrement de bout en bout…",
    clear:
      "Pas chiffré de bout en bout : l'appel est protégé jusqu'au serveur de l'organisme, " +
      "mais ce serveur pourrait le voir et l'entendre.",
    badLink:
      "La clé de bout en bout de ce lien ne correspond pas à celle de l'appel : cette page " +
      "ne peut ni voir ni entendre l'appel. Demandez un nouveau lien.",
    unsupported:
      "Ce navigateur ne peut pas chiffrer l'appel de bout en bout. L'appel sera protégé " +
      "jusqu'au serveur de l'organisme, mais ce serveur pourrait le voir et l'entendre. Un " +
      "Chrome, Edge, Firefox ou Safari récent le peut.",
    required:
      "Cet organisme demande que chaque appel soit chiffré de bout en bout, et ce navigateur " +
      "ne le peut pas. Veuillez ouvrir le lien dans un Chrome, Edge, Firefox ou Safari récent.",
    requiredLink:
      "Cet organisme demande que chaque appel soit chiffré de bout en bout, et ce lien n'a " +
      "pas de clé de bout en bout. Veuillez demander un nouveau lien.",
    lobbyCannot:
      "(ne peut pas chiffrer de bout en bout : l'admettre fait que l'appel ne l'est plus)",
    echoWorks: "Le chiffrement de bout en bout fonctionne dans ce navigateur.",
    echoFails:
      "Le chiffrement de bout en bout ne fonctionne pas dans ce navigateur : un appel fait " +
      "avec lui est protégé jusqu'au serveur seulement.",
    mismatch: "Le lien de {name} ne correspond pas à cet appel : cette personne ne peut ni le voir ni l'entendre.",
    cannot: "{name} ne peut pas chiffrer de bout en bout : l'appel ne l'est donc pas.",
  },
  errors: {
    generic: "Quelque chose n'a pas fonctionné. Veuillez réessayer.",
    "chat-empty": "Le message est vide.",
    "chat-too-long": "Le message est trop long (1 000 caractères au maximum).",
    "chat-rate": "Trop de messages d'un coup : attendez quelques secondes, puis réessayez.",
    "not-in-call": "Vous n'êtes pas encore dans l'appel.",
    "not-joined": "Vous n'êtes pas dans l'appel.",
    "invalid-invite": "Ce lien n'est pas valide. L'appel est peut-être terminé ou expiré.",
    "bad-sdp": "Ce navigateur n'a pas pu établir l'appel.",
    "unsupported-codec": "Ce navigateur n'a pas pu établir l'appel.",
    "lobby-full": "La salle d'attente est pleine. Veuillez réessayer plus tard.",
    "call-full": "L'appel est complet.",
    forbidden: "Seule la personne qui anime l'appel peut faire cela.",
    "rate-limit": "Trop vite : attendez un moment.",
    "unknown-type": "Le serveur ne connaît pas encore cette action.",
    "nobody-to-ask": "Personne d'autre n'est encore dans l'appel.",
    "lobby-busy": "Beaucoup de gens ont essayé d'entrer à l'instant. Réessayez dans une minute.",
    "cluster-unavailable": "Le serveur ne peut pas joindre cet appel pour l'instant. Réessayez dans un moment.",
    "server-restarting": "Le serveur redémarre. Réessayez dans un moment.",
    "media-unavailable": "Le son et l'image de l'appel ne sont pas disponibles pour l'instant. Réessayez bientôt.",
    "too-many-sockets": "Trop de connexions à partir de ce réseau. Réessayez plus tard.",
    "already-joined": "Vous êtes déjà dans l'appel.",
    "no-call": "Cet appel est terminé ou expiré.",
    "not-waiting": "Cette personne n'attend plus.",
    unauthorized: "Veuillez vous reconnecter.",
    internal: "Quelque chose n'a pas fonctionné sur le serveur. Veuillez réessayer.",
    "bad-field": "Quelque chose dans le formulaire n'est pas correct. Vérifiez-le, puis réessayez.",
    "bad-plan": "Le plan en cas de coupure n'est pas complet.",
    busy: "Le serveur a atteint le nombre maximal d'appels. Réessayez plus tard.",
    "too-many-calls": "Vous avez trop d'appels ouverts. Terminez-en un d'abord.",
    "bad-login": "Nom ou mot de passe incorrect.",
    "code-needed": "Entrez le code de votre application d'authentification.",
    "bad-code": "Ce code est incorrect ou a déjà servi. Entrez le code actuel.",
    "slow-down": "Trop d'essais. Attendez un peu, puis réessayez.",
    "e2ee-required": "Cet organisme demande que chaque appel soit chiffré de bout en bout, et ce navigateur ou ce lien ne le peut pas.",
    "not-ready": "Avant de vous joindre à un appel, veuillez confirmer les trois points de la liste.",
    "no-dial-in": "Ce serveur ne prend pas d'appels téléphoniques.",
  },
  roles: { staff: "équipe", survivor: "invitée ou invité", interpreter: "interprète" },
};
