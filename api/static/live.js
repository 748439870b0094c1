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
