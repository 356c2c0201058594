/**
 * The article's demo page: a text box, a Send button that sends the text once the socket is
 * open, and a log of what the server sends back. Served at `/` by `tsws serve`. With a room
 * (the Room field, or `?room=NAME` in the page's address) it connects to `/chat/ROOM` of
 * `tsws serve --chat` and shows what everyone in the room says; without one, the echo at `/`.
 */
export const DEMO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tsws echo</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; }
  form { display: flex; gap: .5rem; margin-bottom: .5rem; }
  input { flex: 1; padding: .4rem .6rem; font: inherit; }
  button { padding: .4rem 1rem; font: inherit; }
  #status { color: #666; margin: .5rem 0 1rem; }
  #status.open { color: #14732c; }
  #status.closed { color: #a11; }
  #log { list-style: none; padding: 0; margin: 0; border-top: 1px solid #ddd; }
  #log li { padding: .3rem 0; border-bottom: 1px solid #eee; font-family: ui-monospace, monospace; word-break: break-all; }
  #log li.sent { color: #555; }
  #log li.sent::before { content: "\\2192  "; }
  #log li.received::before { content: "\\2190  "; }
  #log li.event { color: #888; font-style: italic; }
</style>
</head>
<body>
<h1>tsws echo</h1>
<form id="room-form">
  <input id="room" autocomplete="off" placeholder="Room (empty: echo)" aria-label="Room">
  <button id="join" type="submit">Join</button>
</form>
<p id="status">connecting…</p>
<form id="form">
  <input id="message" autocomplete="off" placeholder="Type a message" aria-label="Message">
  <button id="send" type="submit" disabled>Send</button>
</form>
<ul id="log" aria-live="polite"></ul>
<script>
(() => {
  const status = document.getElementById('status');
  const input = document.getElementById('message');
  const button = document.getElementById('send');
  const log = document.getElementById('log');
  const roomInput = document.getElementById('room');
  const base = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/';
  const add = (kind, text) => {
    const item = document.createElement('li');
    item.className = kind;
    item.textContent = text;
    log.append(item);
  };
  let socket;
  // A room is a chat of tsws serve --chat at /chat/ROOM; no room is the echo at /.
  const connect = (room) => {
    if (socket) socket.close(1000);
    const url = room ? base + 'chat/' + encodeURIComponent(room) : base;
    const ws = new WebSocket(url);
    socket = ws;
    button.disabled = true;
    status.textContent = 'connecting…';
    status.className = '';
    document.querySelector('h1').textContent = room ? 'tsws chat: ' + room : 'tsws echo';
    ws.addEventListener('open', () => {
      status.textContent = 'connected to ' + url;
      status.className = 'open';
      button.disabled = false;
      input.focus();
    });
    ws.addEventListener('message', (event) => {
      if (typeof event.data === 'string') add('received', event.data);
      else add('received', '[binary ' + event.data.size + ' bytes]');
    });
    ws.addEventListener('close', (event) => {
      if (ws !== socket) return;
      status.textContent = 'closed (' + event.code + (event.reason ? ' ' + event.reason : '') + ')';
      status.className = 'closed';
      button.disabled = true;
    });
    ws.addEventListener('error', () => {
      if (ws === socket) add('event', 'connection error');
    });
  };
  const initial = new URLSearchParams(location.search).get('room') || '';
  roomInput.value = initial;
  connect(initial);
  document.getElementById('room-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const room = roomInput.value.trim();
    const address = new URL(location.href);
    if (room) address.searchParams.set('room', room);
    else address.searchParams.delete('room');
    history.replaceState(null, '', address);
    add('event', room ? 'joining room ' + room : 'back to the echo');
    connect(room);
  });
  document.getElementById('form').addEventListener('submit', (event) => {
    event.preventDefault();
    // Send only while the socket is open (readyState 1), as the article advises.
    if (socket.readyState !== WebSocket.OPEN || input.value === '') return;
    socket.send(input.value);
    add('sent', input.value);
    input.value = '';
  });
})();
</script>
</body>
</html>
`;
