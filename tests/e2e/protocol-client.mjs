// A minimal session member speaking the wire protocol (docs/protocol.md) directly, for the
// end-to-end tests that need a member to do what huddle-cli does not (end the session for
// everyone). Run with `node --experimental-websocket` (Node 20; Node 22 has WebSocket built
// in): `protocol-client.mjs <ws-url> <session> <name>`.
// Prints every server message as one JSON line; each line read on stdin is an action
// (`{"type":"end"}`) sent as a request; end of input leaves. Exits when the connection closes.
import { createInterface } from "node:readline";

const [url, session, name] = process.argv.slice(2);
if (!url || !session || !name) {
  console.error("usage: protocol-client.mjs <ws-url> <session> <name>");
  process.exit(2);
}

const ws = new WebSocket(url);
let nextId = 1;
let ping;
ws.addEventListener("open", () => {
  ws.send(
    JSON.stringify({
      type: "join",
      protocol_version: 1,
      session_name: session,
      display_name: name,
      audio_muted: false,
      video_on: false,
    }),
  );
  ping = setInterval(() => ws.send(JSON.stringify({ type: "ping", nonce: nextId++ })), 3000);
});
ws.addEventListener("message", (e) => process.stdout.write(`${e.data}\n`));
ws.addEventListener("close", (e) => {
  clearInterval(ping);
  process.stdout.write(`${JSON.stringify({ type: "closed", code: e.code })}\n`);
  process.exit(0);
});
ws.addEventListener("error", () => {
  console.error("websocket error");
});

const input = createInterface({ input: process.stdin });
// End of input: leave, as huddle-cli does.
input.on("close", () => {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "request", id: nextId++, action: { type: "leave" } }));
  setTimeout(() => ws.close(), 200);
});
input.on("line", (line) => {
  if (!line.trim()) return;
  try {
    ws.send(JSON.stringify({ type: "request", id: nextId++, action: JSON.parse(line) }));
  } catch (err) {
    console.error(`bad action: ${err.message}`);
  }
});
