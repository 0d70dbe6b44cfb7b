// English interface strings. fr.js has the same keys (tests/test_i18n_keys.py checks).
export default {
  language: { code: "en", name: "English" },
  page: {
    join: "Meeting",
    staff: "Quietroom staff",
    guide: "Joining a meeting",
  },
  quickExit: "Leave quickly",
  quickExitKey: "(Esc)",
  consent: {
    title: "Before you join",
    privateTitle: "What stays private",
    privateRecorded: "Nothing is recorded: not the video, not the sound, not the chat.",
    privateE2ee:
      "The call is encrypted end to end: the organization's server passes it on but " +
      "cannot see or hear it.",
    privateStored:
      "The chat disappears when the call ends. This page saves nothing on your device.",
    privateAddress:
      "No one in the call learns your internet address, which could tell where you are: " +
      "everything goes through the organization's own server. (What your camera shows can " +
      "still say where you are.)",
    notPrivateTitle: "What this page cannot protect",
    notPrivateDevice:
      "Someone who can get into your phone or computer, or who has put spying software " +
      "(spyware) on it, may see what you do on it. If you think so, use another device.",
    notPrivateRoom: "Someone in the room with you, or close by, may see or hear the call.",
    notPrivateHistory:
      "Your browser's history will still show a visit to this site, unless you use a " +
      "private window or remove the visit afterwards.",
    historyTitle: "How to use a private window, or remove this visit",
    historyChromeName: "Chrome",
    historyChrome:
      "Private window: menu ⋮, then “New Incognito window” (on a phone: “New Incognito " +
      "tab”). To remove the visit: menu ⋮, “History”, then remove this site.",
    historyFirefoxName: "Firefox",
    historyFirefox:
      "Private window: menu ☰, then “New private window”. To remove the visit: menu ☰, " +
      "“History”, “Manage history”, then right-click this site and choose “Forget About This Site”.",
    historySafariName: "Safari",
    historySafari:
      "Private window: “File”, then “New Private Window” (on an iPhone: the tabs button, " +
      "then “Private”). To remove the visit: “History”, “Show All History”, select this " +
      "site and press Delete (on an iPhone: the book button, “History”, swipe left on it).",
    historyEdgeName: "Edge",
    historyEdge:
      "Private window: menu …, then “New InPrivate window”. To remove the visit: menu …, " +
      "“History”, then the × beside this site.",
    orgTitle: "From the organization",
    safeQuestion: "Are you somewhere you can talk safely right now?",
    safeYes: "Yes, I can talk",
    safeNo: "No, not now",
    waysTitle: "How would you like to talk?",
    video: "Video",
    videoHint: "You see and hear each other. Your camera and microphone are used.",
    audio: "Audio only",
    audioHint: "You hear each other. Your camera stays off.",
    text: "Text only",
    textHint:
      "You write to each other. Your camera and microphone are not used, and nothing " +
      "plays out loud unless you turn the sound on.",
    nameLabel: "Name to show (optional)",
    nameHint: "A first name or a nickname is fine.",
    test: "Test camera and connection",
    testAudio: "Test microphone and connection",
    join: "Join",
    exitNote:
      "At any time, press Esc or “Leave quickly”: the call closes and an ordinary " +
      "website opens in its place.",
  },
  notSafe: {
    title: "That's okay",
    body:
      "You can come back later with the same link, while the call is still open, or " +
      "reach the organization another way when it is safe for you.",
    history:
      "Nothing from this page was saved, but your browser's history may show this visit.",
    exit: "If someone might see your screen, press “Leave quickly” now.",
    back: "I can talk now",
  },
  echo: {
    title: "Testing your connection",
    running: "Testing: the server sends your camera and microphone back to you…",
    runningAudio: "Testing: the server sends your microphone back to you…",
    works:
      "Your camera, microphone and connection work. You can join when you are ready.",
    worksAudio: "Your microphone and connection work. You can join when you are ready.",
    audioOnly: "Your microphone and connection work, but no video came back.",
    failed: "Nothing came back. Check your camera and microphone, or try another network.",
    done: "Done",
  },
  lobby: {
    title: "Waiting room",
    waiting: "Waiting for the host to let you in…",
  },
  call: {
    title: "Call",
    videos: "People in the call",
    controls: "Call controls",
    mute: "Mute",
    unmute: "Unmute",
    cameraOff: "Camera off",
    cameraOn: "Camera on",
    modeVideo: "Video",
    modeAudio: "Audio only",
    modeText: "Text only",
    audioOnly: "Audio only",
    videoBack: "Video again",
    soundOn: "Turn sound on",
    soundOff: "Turn sound off",
    cantTalk: "I can't talk now",
    cantTalkKeys: "Alt+Shift+H",
    chat: "Chat",
    leave: "Leave call",
    you: "You",
    textOnlyNote: "text only",
    audioOnlyNote: "audio only: video paused, audio continues",
    weakNote: "video paused: weak connection; audio continues",
    peerAudioOnly: "audio only",
    peerTextOnly: "text only",
    peerWeak: "video paused: weak connection",
    peerReconnecting: "reconnecting…",
    micIsOff: "muted",
    cameraIsOff: "camera off",
    reconnecting: "Reconnecting…",
    practice: "Practice call",
    phoneCode: "Use a phone for sound: call {number}, then enter {code}.",
    phoneVoice:
      "Your phone carries your sound. Hang up the phone to use this device's sound again.",
    phoneOf: "{name} (phone)",
    phoneCaller: "Phone caller",
    phoneOnly: "on phone only",
    yourPhone: "Your phone",
  },
  chat: {
    title: "Chat",
    note: "Messages are not saved: they disappear when the call ends.",
    label: "Message",
    send: "Send",
    you: "You",
    cleared: "The chat was cleared.",
  },
  cantTalk: {
    title: "Notes",
    body: "Nothing here yet.",
    back: "Back",
  },
  checkIn: {
    question: "Is this still comfortable and safe?",
    ok: "Yes",
    text: "Switch to text",
    audio: "Switch to audio only",
    go: "I need to go",
  },
  done: {
    title: "Goodbye",
    left: "You left the call.",
    ended: "The call has ended.",
    restarting: "The call has ended: the server is restarting.",
    denied: "The host did not let you in.",
    badLink: "This link is not valid. The call may have ended or expired.",
    noLink: "To join, open the link you were sent.",
    cannotConnect:
      "This browser could not set up the call. Try a current version of Firefox, Chrome or Safari.",
    lost: "Connection lost.",
    opensAt: "This link opens on {time}. Please come back then: the same link will work.",
    closed: "This link is closed now.",
    after:
      "You can close this page. If you did not use a private window, you may want to " +
      "remove this visit from your browser's history.",
  },
  plan: {
    title: "If the call drops",
    for: {
      "staff-calls-back":
        "If the call drops, we will call you back on this link: open it again and wait " +
        "to be let in. We will try for {minutes} minutes.",
      "survivor-calls-back":
        "If the call drops, please call us back: open this link again within {minutes} minutes.",
      wait: "If the call drops, we will wait {minutes} minutes for you to open this link again.",
    },
    note: "Also: ",
    timeLeft: "Time left: {time}",
    timeUp: "The time agreed has passed.",
    choices: {
      "staff-calls-back": "I will call you back on this link",
      "survivor-calls-back": "Call me back on this link",
      wait: "I will wait for you",
    },
    summary: "{title}: {choice} ({minutes} min)",
    minutes: "Minutes",
    noteLabel: "Note for the survivor (optional)",
  },
  staff: {
    signInTitle: "Staff sign in",
    name: "Name",
    password: "Password",
    code: "Code from your authenticator app",
    signIn: "Sign in",
    signOut: "Sign out",
    badLogin: "Wrong name or password.",
    readyTitle: "Before your calls",
    readyQuiet: "I am in a quiet, secluded place where nobody can overhear.",
    readyHeadphones: "I am using headphones.",
    readyDevice: "I am on the organization's device and account, not my own.",
    readyConfirm: "Confirm",
    readyThanks: "Thank you. You are ready for your calls.",
    readyFirst: "Before joining a call, please confirm the three points above.",
    adminTitle: "Every call on this server",
    adminHint: "As an admin you see how many calls run, not whose, and can end any of them.",
    running: "{count} calls running.",
    runningOne: "1 call running.",
    adminCall: "{inCall} in the call · {waiting} waiting · {minutes} min left",
    adminEnd: "End this call",
    adminEndSure: "Really end it for everyone?",
    newCallTitle: "New call",
    newCall: "New call",
    checkInMinutes: "Check-in reminder, in minutes (0 for none)",
    cannotCreate: "The call could not be created.",
    yourCalls: "Your calls",
    noCalls: "No calls yet.",
    survivorLink: "Survivor link",
    interpreterLink: "Interpreter link",
    joinCall: "Join call",
    endCall: "End call for everyone",
    waitingLine: "Someone is waiting: {name} ({role}, {mode})",
    waitingPhone: "Someone is waiting: {name}",
    waitingCount: "{count} waiting to be let in",
    copy: "Copy",
    copied: "Copied",
    admit: "Admit",
    deny: "Deny",
    noName: "(no name given)",
    expires: "expires in {minutes} min",
    minutes: "min",
    checkInEvery: "check-in every {minutes} min",
    practice: "Practice call (to rehearse with a colleague or an interpreter; its links are always open)",
    windowTitle: "The call's own time (optional)",
    windowHint: "Its links open only then, instead of the organization's contact hours.",
    windowStart: "From",
    windowEnd: "Until",
    opensAt: "links open {time}",
    linksClosed: "links closed",
    openAnyway: "Open the links now",
    closeAgain: "Keep to the hours again",
    handoutTitle: "Handout for survivors",
    handoutText: "A printable page on how to join safely. Send or print it before the call.",
    handout: "Open the handout to print",
    copyHandout: "Copy the handout link",
    peopleTitle: "People in the call",
    lobbyTitle: "Waiting room",
    checkIn: "Check in",
    checkInSent: "Check-in sent: “Is this still comfortable and safe?”",
    reminder: "It has been {minutes} minutes. A good moment to check in?",
    modes: { video: "video", audio: "audio only", text: "text only" },
    cantTalk: "can't talk now",
    away: "reconnecting",
    quality: { good: "connection good", weak: "connection weak" },
    qualityAudioOnly: "audio only",
    qualityLoss: "{n} % lost",
    qualityRtt: "{n} ms round trip",
    qualityKbps: "{n} kbit/s",
    answers: {
      ok: "{name}: yes, still comfortable and safe.",
      text: "{name} asks to switch to text. Their page has switched.",
      audio: "{name} asks to switch to audio only. Their page has switched.",
      go: "{name} needs to go.",
    },
    cantTalkNotice:
      "{name} can't talk now. Your microphone is off until they are back. The plan:",
    backNotice: "{name} is back.",
    leftQuickly: "{name} left quickly. Follow the plan:",
    peerDropped: "They did not come back. Your plan:",
    phoneAllow: "Allow phone audio",
    phoneStop: "Stop phone audio",
    phoneOn:
      "Phone audio allowed: the others' pages show the number to call and a code of their " +
      "own. A phone in the call makes it not end-to-end encrypted.",
    phoneOff: "Phone audio stopped: the codes no longer work. Phones already in the call stay.",
    phoneE2ee:
      "This organization requires end-to-end encryption, which a phone cannot do: phone " +
      "audio stays off.",
    hoursEnding:
      "The contact hours end at {time}. The call goes on; nobody new can join through " +
      "the links after that.",
  },
  announce: {
    joined: "{name} joined.",
    left: "{name} left.",
    mode: "{name}: {mode}.",
    weak: "Video paused: weak connection. Audio continues.",
    videoBack: "Video is back.",
    message: "Message from {name}: {text}",
    checkIn: "Check-in: is this still comfortable and safe?",
    cantTalk: "{name} can't talk now.",
  },
  guide: {
    title: "How to join a meeting safely",
    intro:
      "This sheet explains how to join a private video meeting with us from a browser, " +
      "and what you can do to stay safe.",
    print: "Print",
    orgTitle: "From the organization",
    deviceTitle: "Your device",
    device:
      "A call is only as private as the phone or computer it runs on. If someone else " +
      "uses your device, knows its passwords, or may have put spying software (spyware) " +
      "on it, join from a device they cannot reach: a friend's, a library's or a work computer.",
    historyTitle: "Private windows and history",
    history:
      "Open the link in a private window (Incognito in Chrome, Private in Firefox and " +
      "Safari, InPrivate in Edge): then your browser does not keep the visit. If you used " +
      "an ordinary window, remove the visit from the history afterwards.",
    placeTitle: "Where to sit",
    place:
      "Choose a place where nobody can hear or see the screen, with your back to a wall " +
      "rather than a door or window. Think about what the camera shows behind you.",
    headphonesTitle: "Headphones",
    headphones:
      "Headphones or earbuds keep the other person's voice private. Without them, " +
      "anyone near you may hear it.",
    planTitle: "If the call drops",
    plan:
      "Before the call, we agree on what happens if it drops: who calls back, on which " +
      "link, and how long we wait. The page shows this plan before you join.",
    exitTitle: "Leaving quickly",
    exit:
      "The “Leave quickly” button (or the Esc key) ends the call at once, clears the page " +
      "and opens an ordinary website instead. The Back button does not bring the call back.",
    waysTitle: "Other ways to talk",
    ways:
      "You can choose audio only (no camera) or text only (no camera, no microphone, " +
      "nothing played out loud). You can switch during the call, or press “I can't talk " +
      "now” (Alt+Shift+H on a keyboard) to hide the call behind a plain screen.",
  },
  e2ee: {
    on: "End-to-end encrypted: only the people in this call can see and hear it.",
    code: "Safety code: {code}",
    codeHint:
      "Read it aloud: when it is the same on every screen in the call, nobody in between " +
      "can see or hear it.",
    waiting: "Setting up end-to-end encryption…",
    clear:
      "Not end-to-end encrypted: the call is protected on its way to the organization's " +
      "server, but that server could see and hear it.",
    badLink:
      "This link's end-to-end key does not match the call's, so this page cannot see or " +
      "hear the call. Ask for a new link.",
    unsupported:
      "This browser cannot encrypt the call end to end. The call will be protected on its " +
      "way to the organization's server, but that server could see and hear it. A recent " +
      "Chrome, Edge, Firefox or Safari can.",
    required:
      "This organization asks that every call be encrypted end to end, and this browser " +
      "cannot do it. Please open the link in a recent Chrome, Edge, Firefox or Safari.",
    requiredLink:
      "This organization asks that every call be encrypted end to end, and this link has no " +
      "end-to-end key. Please ask for a new link.",
    lobbyCannot: "(cannot encrypt end to end: admitting them makes the call not end to end)",
    echoWorks: "End-to-end encryption works in this browser.",
    echoFails:
      "End-to-end encryption does not work in this browser: a call from it is protected on " +
      "its way to the server only.",
    mismatch: "{name}'s link does not match this call: they cannot see or hear it.",
    cannot: "{name} cannot encrypt end to end, so the call is not.",
  },
  errors: {
    generic: "Something went wrong. Please try again.",
    "chat-empty": "The message is empty.",
    "chat-too-long": "The message is too long (1,000 characters at most).",
    "chat-rate": "Too many messages at once: wait a few seconds, then send again.",
    "not-in-call": "You are not in the call yet.",
    "not-joined": "You are not in the call.",
    "invalid-invite": "This link is not valid. The call may have ended or expired.",
    "bad-sdp": "This browser could not set up the call.",
    "unsupported-codec": "This browser could not set up the call.",
    "lobby-full": "The waiting room is full. Please try again later.",
    "call-full": "The call is full.",
    forbidden: "Only the host can do that.",
    "rate-limit": "Too fast: please wait a moment.",
    "unknown-type": "The server does not know this action yet.",
    "nobody-to-ask": "Nobody else is in the call to ask yet.",
    "lobby-busy": "Many people tried to join just now. Please try again in a minute.",
    "cluster-unavailable": "The server cannot reach this call just now. Please try again in a moment.",
    "server-restarting": "The server is restarting. Please try again in a moment.",
    "media-unavailable": "The call's sound and video are not available right now. Please try again soon.",
    "too-many-sockets": "Too many connections from this network. Please try again later.",
    "already-joined": "You are already in the call.",
    "no-call": "This call has ended or expired.",
    "not-waiting": "That person is no longer waiting.",
    unauthorized: "Please sign in again.",
    internal: "Something went wrong on the server. Please try again.",
    "bad-field": "Something in the form is not right. Please check it and try again.",
    "bad-plan": "The plan for a dropped call is not complete.",
    busy: "The server holds as many calls as it can. Please try again later.",
    "too-many-calls": "You have too many calls open. End one first.",
    "bad-login": "Wrong name or password.",
    "code-needed": "Enter the code from your authenticator app.",
    "bad-code": "That code is wrong or was already used. Enter the current one.",
    "slow-down": "Too many tries. Wait a little, then try again.",
    "e2ee-required": "This organization asks that every call be encrypted end to end, and this browser or link cannot do it.",
    "not-ready": "Before joining a call, please confirm the three points of the checklist.",
    "no-dial-in": "This server takes no phone calls.",
  },
  roles: { staff: "staff", survivor: "guest", interpreter: "interpreter" },
};
