// The phone simulator: a file, not inline script (the CSP forbids inline script). The URLs
// it calls come from data- attributes the template fills with url_for.
const $ = (id) => document.getElementById(id);
const urls = document.body.dataset;
let session = null, text = "", open = false;

async function post(url, body) {
  const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  if (!r.ok) throw new Error(await r.text());
  return r.json();
}
function show(reply, end) {
  $("screen").textContent = reply;
  $("status").textContent = end ? "Session ended" : "";
  open = !end;
  if (end) { session = null; text = ""; }
  refreshInbox();
}
async function hop(input) {
  if (input !== null) text = text ? text + "*" + input : input;
  try {
    const r = await post(urls.dial, {phone: $("phone").value, session, text});
    session = r.session; show(r.reply, r.end);
  } catch (e) { $("status").textContent = "Error: " + e.message; }
}
$("dial").onclick = () => { session = "SIM-" + Math.random().toString(16).slice(2); text = ""; open = true; hop(null); };
$("send").onclick = () => { if (!open) return; const v = $("entry").value; $("entry").value = ""; hop(v); };
$("entry").addEventListener("keydown", (e) => { if (e.key === "Enter") $("send").onclick(); });
$("hangup").onclick = () => { session = null; text = ""; open = false; $("screen").textContent = "Call ended."; };
document.querySelectorAll(".key").forEach((b) => b.onclick = () => { $("entry").value += b.dataset.key; });
$("smsSend").onclick = async () => {
  await post(urls.sms, {phone: $("phone").value, text: $("smsText").value});
  $("smsText").value = ""; setTimeout(refreshInbox, 500);
};
async function refreshInbox() {
  const r = await fetch(urls.inbox + "?phone=" + encodeURIComponent($("phone").value));
  if (!r.ok) return;
  const {messages} = await r.json();
  const box = $("inbox");
  if (!messages.length) { box.innerHTML = "<p>No messages yet.</p>"; return; }
  box.innerHTML = "";
  for (const m of messages) {
    const div = document.createElement("div"); div.className = "sms";
    div.textContent = m.text;
    const s = document.createElement("small"); s.textContent = m.status + " · " + m.created_at;
    div.appendChild(s); box.appendChild(div);
  }
}
setInterval(refreshInbox, 2000);
