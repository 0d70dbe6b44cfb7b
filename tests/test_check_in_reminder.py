"""Staff's check-in reminder (client_web/check_in.js), run in node with a hand-driven clock:
shown every N minutes of the call, not before; a check-in starts the count again; 0 = never."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CHECK_IN = Path(__file__).resolve().parent.parent / "client_web" / "check_in.js"

# A clock the script moves by hand: setInterval/clearInterval on a list of timers.
SCRIPT = """
let now = 0;
const timers = new Map();
let next = 1;
globalThis.window = globalThis;
globalThis.setInterval = (fn, ms) => { timers.set(next, {fn, ms, due: now + ms}); return next++; };
globalThis.clearInterval = (id) => timers.delete(id);
const advance = (minutes) => {
  const end = now + minutes * 60000;
  for (;;) {
    const due = [...timers.values()].filter(t => t.due <= end).sort((a, b) => a.due - b.due)[0];
    if (!due) break;
    now = due.due;
    due.due += due.ms;
    due.fn();
  }
  now = end;
};
const { Reminder } = await import(process.argv[1]);
const target = { textContent: "" };
const reminder = new Reminder(target);
const seen = [];
const look = (label) => seen.push([label, target.textContent]);
reminder.start(15);
advance(14); look("14 min");
advance(1); look("15 min");
reminder.restart(); look("checked in");
advance(14); look("14 min after");
advance(1); look("15 min after");
advance(15); look("30 min after");
reminder.start(0);
advance(120); look("none");
reminder.start(5);
advance(5); look("5 min");
reminder.stop();
advance(60); look("stopped");
console.log(JSON.stringify(seen));
"""


def test_reminder_every_n_minutes() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, CHECK_IN.as_uri()],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    seen = dict(json.loads(result.stdout))
    reminder = "It has been 15 minutes. A good moment to check in?"
    assert seen == {
        "14 min": "",
        "15 min": reminder,
        "checked in": "",
        "14 min after": "",
        "15 min after": reminder,
        "30 min after": "It has been 30 minutes. A good moment to check in?",
        "none": "",
        "5 min": "It has been 5 minutes. A good moment to check in?",
        "stopped": "",
    }
