// Staff's gentle reminder to check in: every N minutes of the call (N set per call), a line
// next to the "Check in" button. Checking in starts the count again.

import t, { format, text } from "./i18n/index.js";

export class Reminder {
  /** @param {HTMLElement} target where the reminder shows */
  constructor(target) {
    this.target = target;
    this.minutes = 0;
    this.timer = 0;
  }

  /** @param {number} minutes 0: no reminder */
  start(minutes) {
    this.minutes = minutes;
    this.restart();
  }

  /** After a check-in: no reminder shown, the next one in N minutes. */
  restart() {
    window.clearInterval(this.timer);
    this.target.textContent = "";
    if (this.minutes <= 0) return;
    let passed = 0; // minutes since the call started or since the last check-in
    this.timer = window.setInterval(() => {
      passed += this.minutes;
      const minutes = passed;
      text(this.target, () => format(t.staff.reminder, { minutes }));
    }, this.minutes * 60000);
  }

  stop() {
    window.clearInterval(this.timer);
    this.target.textContent = "";
  }
}
