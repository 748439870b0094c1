// Lumbung console: a live countdown beside each deadline. The page shows the time left without this script; it
// only keeps it current, counting from the server's clock (data-now) rather than the phone's.
(function () {
  var nodes = document.querySelectorAll("[data-deadline]");
  if (!nodes.length) return;
  var english = document.documentElement.lang === "en";
  var skew = 0;
  var serverNow = document.body.getAttribute("data-now");
  if (serverNow) skew = Date.parse(serverNow) - Date.now();
  function left(ms) {
    if (ms <= 0) return english ? "passed" : "sudah lewat";
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var parts = [];
    if (d) parts.push(d + (english ? (d === 1 ? " day" : " days") : " hari"));
    if (h || parts.length) parts.push(h + (english ? (h === 1 ? " hour" : " hours") : " jam"));
    if (!d) parts.push(m + (english ? " min" : " menit"));
    if (!d && !h) parts.push(sec + (english ? " s" : " detik"));
    return parts.slice(0, 3).join(" ") + (english ? " left" : " lagi");
  }
  function tick() {
    var now = Date.now() + skew;
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = left(Date.parse(nodes[i].getAttribute("data-deadline")) - now);
    }
  }
  tick();
  setInterval(tick, 1000);
})();

// An order page follows its order over the graphql-transport-ws socket (authenticated by the session cookie): the
// status badge changes when the supplier accepts, dispatches or the order is closed, without reloading a form that is
// being filled in. Without the script, or without the socket, the page is simply as it was served.
(function () {
  var badge = document.querySelector("[data-live-order]");
  if (!badge || !window.WebSocket) return;
  var labels = {};
  try { labels = JSON.parse(badge.getAttribute("data-labels")); } catch (e) { labels = {}; }
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + location.host + "/graphql/ws", "graphql-transport-ws");
  socket.onopen = function () { socket.send(JSON.stringify({ type: "connection_init", payload: {} })); };
  socket.onmessage = function (message) {
    var data = JSON.parse(message.data);
    if (data.type === "connection_ack") {
      socket.send(JSON.stringify({ id: "order", type: "subscribe", payload: {
        query: "subscription($id: ID!) { orderEvents(orderId: $id) { status } }",
        variables: { id: badge.getAttribute("data-live-order") } } }));
    } else if (data.type === "next" && data.payload && data.payload.data) {
      var status = data.payload.data.orderEvents.status;
      badge.className = "status " + status;
      badge.textContent = labels[status] || status;
    } else if (data.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    }
  };
})();
