// Web chat for the ServiceDesk sandbox. Plain JavaScript, no build step.
// Everything the bot or a user wrote is put into the page with textContent / DOM nodes only:
// never innerHTML. Telegram formatting comes from the message entities the sandbox parsed.
"use strict";

const state = { personas: null, groups: [], clockSkewMs: 0, tz: "Asia/Shanghai", offsetS: 0, panes: [], onDuty: new Set() };

// ------------------------------------------------------------------ helpers
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

async function api(path, body) {
  const resp = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.description || `HTTP ${resp.status}`);
  return data;
}

function safeUrl(href) {
  try {
    const url = new URL(href, window.location.href);
    return ["http:", "https:", "mailto:", "tel:"].includes(url.protocol) ? url.href : null;
  } catch (_err) {
    return null;
  }
}

function formatTime(epochSeconds, withSeconds) {
  const opts = { timeZone: state.tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (withSeconds) Object.assign(opts, { weekday: "short", day: "numeric", month: "short", second: "2-digit" });
  return new Intl.DateTimeFormat("en-GB", opts).format(new Date(epochSeconds * 1000));
}

function formatSize(bytes) {
  if (!bytes && bytes !== 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function preview(msg) {
  let text = msg.text || (msg.photo ? "🖼 photo" : msg.document ? `📄 ${msg.document.file_name || "file"}` : "");
  if (!text && msg.contact) text = `📱 ${msg.contact.phone_number}`;
  text = text.replace(/\s+/g, " ").trim();
  return text.length > 70 ? `${text.slice(0, 70)}…` : text;
}

// ------------------------------------------------------------------ Telegram entities → DOM
// Offsets are UTF-16 code units, which is exactly how JavaScript indexes strings.
function wrapEntity(entity, child, text, onCommand) {
  const whole = text.slice(entity.offset, entity.offset + entity.length);
  switch (entity.type) {
    case "bold": return el("strong", {}, child);
    case "italic": return el("em", {}, child);
    case "underline": return el("u", {}, child);
    case "strikethrough": return el("s", {}, child);
    case "code": return el("code", {}, child);
    case "pre": return el("pre", {}, child);
    case "blockquote": case "expandable_blockquote": return el("span", { class: "quote" }, child);
    case "spoiler": {
      const node = el("span", { class: "spoiler", title: "show" }, child);
      node.addEventListener("click", () => node.classList.add("shown"));
      return node;
    }
    case "text_link": case "url": case "email": case "phone_number": {
      let href = entity.type === "text_link" ? entity.url : whole;
      if (entity.type === "url" && !/^[a-z]+:/i.test(href)) href = `https://${href}`;
      if (entity.type === "email") href = `mailto:${whole}`;
      if (entity.type === "phone_number") href = `tel:${whole}`;
      const safe = safeUrl(href || "");
      if (!safe) return el("span", {}, child);
      return el("a", { href: safe, target: "_blank", rel: "noopener noreferrer" }, child);
    }
    case "bot_command": {
      if (!onCommand) return el("span", { class: "cmd" }, child);
      return el("a", { href: "#", class: "cmd", onclick: (ev) => { ev.preventDefault(); onCommand(whole); } }, child);
    }
    default: return child;
  }
}

// Telegram clients make /commands in the bot's text clickable; so does this page.
function linkCommands(text, onCommand) {
  const frag = document.createDocumentFragment();
  const re = /(^|[\s(（，,：:、])(\/[A-Za-z][A-Za-z0-9_]{0,31})(?![A-Za-z0-9_/])/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    const start = m.index + m[1].length;
    frag.append(document.createTextNode(text.slice(last, start)));
    const cmd = m[2];
    frag.append(el("a", { href: "#", class: "cmd", onclick: (ev) => { ev.preventDefault(); onCommand(cmd); } }, cmd));
    last = start + cmd.length;
  }
  frag.append(document.createTextNode(text.slice(last)));
  return frag;
}

function renderText(text, entities, onCommand) {
  const frag = document.createDocumentFragment();
  const ents = (entities || []).filter(
    (e) => Number.isInteger(e.offset) && Number.isInteger(e.length) && e.length > 0
      && e.offset >= 0 && e.offset + e.length <= text.length,
  );
  const cuts = new Set([0, text.length]);
  for (const e of ents) { cuts.add(e.offset); cuts.add(e.offset + e.length); }
  const points = [...cuts].sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i += 1) {
    const [a, b] = [points[i], points[i + 1]];
    const active = ents
      .filter((e) => e.offset <= a && e.offset + e.length >= b)
      .sort((x, y) => (x.offset - y.offset) || (y.length - x.length));
    const plain = !active.some((e) => ["code", "pre", "text_link", "url", "bot_command"].includes(e.type));
    let node = plain && onCommand ? linkCommands(text.slice(a, b), onCommand) : document.createTextNode(text.slice(a, b));
    for (let k = active.length - 1; k >= 0; k -= 1) node = wrapEntity(active[k], node, text, onCommand);
    frag.append(node);
  }
  return frag;
}

// ------------------------------------------------------------------ one chat pane
class Pane {
  constructor(index, personaKey) {
    this.index = index;
    this.root = document.getElementById("pane-template").content.firstElementChild.cloneNode(true);
    this.root.id = `pane-${index}`;
    this.root.dataset.pane = String(index);
    this.q = (sel) => this.root.querySelector(sel);
    this.log = this.q(".log");
    this.messages = new Map();
    this.persona = null;
    this.source = null;
    this.attachment = null;
    this.buildPersonaMenu(personaKey);
    this.wire();
  }

  buildPersonaMenu(selected) {
    const select = this.q(".persona");
    const group = (label, list) => {
      const og = el("optgroup", { label });
      for (const p of list) og.append(el("option", { value: `u:${p.user_id}`, text: p.label }));
      return og;
    };
    select.append(group("Customers (demo)", state.personas.customers));
    select.append(group("Staff (demo)", state.personas.staff));
    select.append(el("option", { value: "new", text: "New user…" }));
    this.fillGroups();
    select.value = selected;
    this.markDuty();
  }

  // the sandbox's supergroups, as "👥 title" entries of the persona menu
  fillGroups() {
    const select = this.q(".persona");
    let og = select.querySelector('optgroup[data-kind="groups"]');
    if (!og && !state.groups.length) return;
    if (!og) {
      og = el("optgroup", { label: "Staff group (topics)", dataset: { kind: "groups" } });
      select.insertBefore(og, select.querySelector('option[value="new"]'));
    }
    const current = select.value;
    og.replaceChildren(...state.groups.map((g) => el("option", { value: `g:${g.id}`, text: `👥 ${g.title}` })));
    if (current) select.value = current;
  }

  markDuty() {
    for (const option of this.q(".persona").options) {
      const p = option.value.startsWith("u:") ? this.findPersona(option.value) : null;
      if (p && p.role !== "customer") option.textContent = p.label + (state.onDuty.has(p.user_id) ? " · on duty now" : "");
    }
    if (this.persona) this.renderWho();
  }

  wire() {
    this.q(".persona").addEventListener("change", () => this.onPersonaChosen());
    this.q(".lang").addEventListener("change", () => {
      if (this.persona) { this.persona.language_code = this.q(".lang").value; this.renderWho(); }
    });
    this.q(".new-user").addEventListener("submit", (ev) => { ev.preventDefault(); this.startNewUser(); });
    this.q(".composer").addEventListener("submit", (ev) => { ev.preventDefault(); this.sendComposer(); });
    this.q(".input").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); this.sendComposer(); }
    });
    this.q(".file").addEventListener("change", () => this.pickFile());
    this.q(".attachment-clear").addEventListener("click", () => this.clearAttachment());
    this.q(".replying-clear").addEventListener("click", () => this.setReply(null));
    this.q(".as-user").addEventListener("change", () => {
      this.asUser = this.findPersona(`u:${this.q(".as-user").value}`);
      this.renderGroupWho();
      this.renderComposer();
      for (const msg of this.messages.values()) this.upsert(msg);
    });
  }

  findPersona(key) {
    const id = Number(key.slice(2));
    return [...state.personas.customers, ...state.personas.staff].find((p) => p.user_id === id);
  }

  onPersonaChosen() {
    const key = this.q(".persona").value;
    const form = this.q(".new-user");
    if (key === "new") {
      form.hidden = false;
      const phone = this.q(".new-phone");
      if (!phone.value) phone.value = `+86137${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
      this.q(".new-name").focus();
      return;
    }
    form.hidden = true;
    if (key.startsWith("g:")) { this.openGroup(Number(key.slice(2))); return; }
    const p = this.findPersona(key);
    if (p) this.open({ ...p });
  }

  async startNewUser() {
    const { user_id: userId } = await api("/api/users/new", {});
    const name = this.q(".new-name").value.trim() || `Guest ${userId}`;
    this.q(".new-user").hidden = true;
    const option = el("option", { value: `u:${userId}`, text: `${name} · new user ${userId}` });
    this.q(".persona").insertBefore(option, this.q('.persona option[value="new"]'));
    this.q(".persona").value = `u:${userId}`;
    this.open({ user_id: userId, first_name: name, phone: this.q(".new-phone").value.trim(), role: "new user", label: name });
  }

  groupProfile() {
    const u = this.asUser;
    return { chat_id: this.group.id, user_id: u.user_id, first_name: u.first_name,
      language_code: this.q(".lang").value, message_thread_id: this.thread ?? undefined };
  }

  profile() {
    return { user_id: this.persona.user_id, first_name: this.persona.first_name, language_code: this.persona.language_code };
  }

  async open(persona) {
    if (this.source) this.source.close();
    this.source = null;
    const ticket = (this.openTicket = (this.openTicket || 0) + 1);
    persona.language_code = this.q(".lang").value;
    this.persona = persona;
    this.leaveGroup();
    this.messages.clear();
    this.log.replaceChildren();
    this.setReply(null);
    this.renderWho();
    this.renderEmpty();
    this.renderReplyKeyboard();
    await api("/api/open", this.profile());
    if (ticket !== this.openTicket) return; // another persona was picked meanwhile
    const source = new EventSource(`/api/events?user_id=${encodeURIComponent(persona.user_id)}`);
    source.addEventListener("message", (ev) => this.upsert(JSON.parse(ev.data)));
    source.addEventListener("answer", (ev) => this.toast(JSON.parse(ev.data).text));
    this.source = source;
  }

  // ---- the staff group: topics, whose turn it is to write, the open topic
  leaveGroup() {
    this.group = null;
    this.thread = null;
    this.q(".topics").hidden = true;
    this.q(".as-user").hidden = true;
    delete this.root.dataset.chatId;
    this.renderComposer();
  }

  openGroup(chatId) {
    if (this.source) this.source.close();
    this.source = null;
    this.openTicket = (this.openTicket || 0) + 1;
    const g = state.groups.find((x) => x.id === chatId);
    this.persona = null;
    this.group = { id: chatId, title: g ? g.title : String(chatId) };
    this.thread = null;
    this.topics = [];
    this.messages.clear();
    this.log.replaceChildren();
    this.setReply(null);
    const as = this.q(".as-user");
    as.replaceChildren(...state.personas.staff.map((p) => el("option", { value: String(p.user_id), text: `as ${p.label}` })));
    this.asUser = this.asUser || state.personas.staff[0];
    as.value = String(this.asUser.user_id);
    as.hidden = false;
    this.q(".topics").hidden = false;
    this.renderTopics();
    this.renderGroupWho();
    this.renderEmpty();
    this.renderReplyKeyboard();
    const source = new EventSource(`/api/groups/events?chat_id=${encodeURIComponent(chatId)}`);
    source.addEventListener("message", (ev) => this.upsert(JSON.parse(ev.data)));
    source.addEventListener("topics", (ev) => {
      const data = JSON.parse(ev.data);
      this.topics = data.topics;
      this.members = data.members;
      this.renderTopics();
    });
    source.addEventListener("answer", (ev) => {
      const answer = JSON.parse(ev.data);
      if (answer.user_id === this.asUser.user_id) this.toast(answer.text);
    });
    this.source = source;
  }

  renderGroupWho() {
    this.q(".who-name").textContent = this.group.title;
    this.q(".who-meta").textContent = `supergroup with topics · id ${this.group.id} · writing as ${this.asUser.first_name}`;
    this.q(".avatar").textContent = "👥";
    this.root.dataset.role = "group";
    this.root.dataset.userId = "";
    this.root.dataset.chatId = String(this.group.id);
  }

  renderTopics() {
    const topic = (thread, name, closed) => el("button", {
      type: "button",
      class: `topic${closed ? " closed" : ""}${this.thread === thread ? " current" : ""}`,
      dataset: { thread: thread === null ? "general" : String(thread) },
      onclick: () => this.selectTopic(thread),
    }, el("span", { class: "topic-name", text: name }),
    thread === null ? null : el("span", { class: "topic-state", text: closed ? "closed" : "open" }));
    this.q(".topics").replaceChildren(topic(null, "General", false),
      ...(this.topics || []).map((t) => topic(t.message_thread_id, t.name, t.closed)));
    this.renderComposer();
  }

  // as in Telegram's apps: in a closed topic only administrators get a composer
  renderComposer() {
    const input = this.q(".input");
    const open = (this.topics || []).find((t) => t.message_thread_id === this.thread);
    const status = this.group && this.asUser ? (this.members || {})[String(this.asUser.user_id)] : null;
    const shut = Boolean(this.group && open && open.closed && !["creator", "administrator"].includes(status));
    input.disabled = shut;
    this.q(".send").disabled = shut;
    input.placeholder = shut ? "The topic is closed: only administrators can write" : "Message";
  }

  selectTopic(thread) {
    this.thread = thread;
    this.setReply(null);
    this.renderTopics();
    for (const node of this.log.querySelectorAll(".msg")) node.hidden = !this.inTopic(this.messages.get(Number(node.dataset.id)));
    this.renderEmpty();
    this.log.scrollTop = this.log.scrollHeight;
  }

  inTopic(msg) {
    return !this.group || !msg || (msg.thread_id ?? null) === this.thread;
  }

  renderService(msg) {
    const v = msg.service.value || {};
    const who = msg.from ? msg.from.first_name : "";
    const text = {
      forum_topic_created: `${who} created the topic “${v.name}”`,
      forum_topic_edited: v.name ? `${who} renamed the topic to “${v.name}”` : `${who} changed the topic icon`,
      forum_topic_closed: `${who} closed the topic`,
      forum_topic_reopened: `${who} reopened the topic`,
      new_chat_members: `${(Array.isArray(v) ? v : []).map((u) => u.first_name).join(", ")} joined the group`,
      left_chat_member: `${v.first_name || ""} left the group`,
    }[msg.service.kind] || msg.service.kind;
    return el("div", { class: "msg service", dataset: { id: String(msg.id), from: "service" }, text });
  }

  renderWho() {
    const p = this.persona;
    this.q(".who-name").textContent = p.first_name;
    const bits = [p.role, `id ${p.user_id}`];
    if (p.customer) bits.push(p.customer);
    if (p.phone) bits.push(p.phone);
    bits.push(p.language_code === "en" ? "English app" : p.language_code === "zh-TW" ? "繁體中文 app" : "中文 app");
    if (state.onDuty.has(p.user_id)) bits.push("on duty now");
    this.q(".who-meta").textContent = bits.join(" · ");
    this.q(".avatar").textContent = (p.first_name || "?").slice(0, 1);
    this.root.dataset.role = p.role;
    this.root.dataset.userId = String(p.user_id);
  }

  renderEmpty() {
    if ([...this.messages.values()].some((m) => this.inTopic(m))) { this.q(".log .empty")?.remove(); return; }
    if (this.q(".log .empty")) return;
    if (this.group) { this.log.append(el("div", { class: "empty" }, el("p", { text: "No messages in this topic yet." }))); return; }
    this.log.append(el("div", { class: "empty" },
      el("p", { text: "No messages yet." }),
      el("button", { type: "button", class: "start", text: "START", onclick: () => this.send({ text: "/start" }) })));
  }

  // ---- messages
  upsert(msg) {
    const old = this.log.querySelector(`.msg[data-id="${msg.id}"]`);
    if (msg.deleted) {
      old?.remove();
      this.messages.delete(msg.id);
    } else {
      const node = this.renderMessage(msg);
      node.hidden = !this.inTopic(msg);
      const nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
      if (old) {
        old.replaceWith(node);
      } else {
        const later = [...this.log.querySelectorAll(".msg")].find((m) => Number(m.dataset.id) > msg.id);
        if (later) this.log.insertBefore(node, later); else this.log.append(node);
      }
      this.messages.set(msg.id, msg);
      if (nearBottom || !old) this.log.scrollTop = this.log.scrollHeight;
    }
    this.renderEmpty();
    this.renderReplyKeyboard();
  }

  renderMessage(msg) {
    if (msg.service) return this.renderService(msg);
    const mine = this.group ? Boolean(msg.from && msg.from.id === this.asUser.user_id) : msg.from_user;
    const bubble = el("div", { class: "bubble" });
    if (this.group && !mine) bubble.append(el("div", { class: "sender", text: msg.from ? msg.from.first_name : "" }));
    if (msg.reply_to) {
      const quoted = this.messages.get(msg.reply_to);
      bubble.append(el("div", { class: "reply-quote", text: quoted ? preview(quoted) : `message ${msg.reply_to}` }));
    }
    if (msg.photo) {
      bubble.append(el("a", { href: msg.photo.url, target: "_blank", rel: "noopener", class: "photo-link" },
        el("img", { src: msg.photo.url, alt: "photo", class: "photo", loading: "lazy" })));
    }
    if (msg.document) {
      const d = msg.document;
      bubble.append(el("a", { href: d.url, target: "_blank", rel: "noopener", class: "doc" },
        el("span", { class: "doc-icon", text: "📄" }),
        el("span", { class: "doc-text" },
          el("span", { class: "doc-name", text: d.file_name || "document" }),
          el("span", { class: "doc-size", text: formatSize(d.size) }))));
    }
    if (msg.contact) {
      const c = msg.contact;
      bubble.append(el("div", { class: "contact" }, el("span", { text: "📱 " }),
        el("span", { text: [c.first_name, c.last_name].filter(Boolean).join(" ") }),
        el("span", { class: "contact-phone", text: c.phone_number })));
    }
    for (const [key, label] of [["sticker", "sticker"], ["voice", "🎤 voice message"], ["video", "🎬 video"],
                                ["video_note", "⏺ video note"], ["audio", "🎵 audio"], ["location", "📍 location"]]) {
      if (msg[key]) bubble.append(el("div", { class: "media-note", text: key === "sticker" ? msg[key].emoji || label : label }));
    }
    if (msg.text) {
      bubble.append(el("div", { class: "text" }, renderText(msg.text, msg.entities, mine ? null : (cmd) => this.send({ text: cmd }))));
    }
    bubble.append(el("div", { class: "meta" },
      msg.edited ? el("span", { class: "edited-mark", text: "edited" }) : null,
      el("span", { class: "time", text: formatTime(msg.date) })));
    const tools = el("div", { class: "msg-tools" }, el("button", {
      type: "button", class: "reply-btn", title: "Reply to this message", "aria-label": "reply", text: "↩",
      onclick: () => this.setReply(msg),
    }));
    if (mine && !this.group && msg.text && !msg.photo && !msg.document) {
      tools.append(el("button", {
        type: "button", class: "edit-btn", title: "Edit this message", "aria-label": "edit", text: "✎",
        onclick: () => this.setReply(msg, "edit"),
      }));
    }
    bubble.append(tools);
    const from = mine ? "user" : msg.from_user ? "member" : "bot";
    const node = el("div", {
      class: `msg ${mine ? "user" : "bot"}${msg.edited ? " edited" : ""}`,
      dataset: { id: String(msg.id), from },
    }, bubble);
    if (!mine && msg.buttons && msg.buttons.length) node.append(this.renderInlineKeyboard(msg));
    return node;
  }

  renderInlineKeyboard(msg) {
    const kb = el("div", { class: "ikb" });
    for (const row of msg.buttons) {
      const line = el("div", { class: "ikb-row" });
      for (const b of row) {
        if (b.url) {
          const href = safeUrl(b.url);
          line.append(href
            ? el("a", { class: "ikb-btn", href, target: "_blank", rel: "noopener noreferrer", text: `${b.text} ↗` })
            : el("span", { class: "ikb-btn", text: b.text }));
        } else {
          line.append(el("button", {
            type: "button", class: "ikb-btn", text: b.text, dataset: { data: b.data || "" },
            onclick: (ev) => this.press(msg.id, b.data, ev.currentTarget),
          }));
        }
      }
      kb.append(line);
    }
    return kb;
  }

  renderReplyKeyboard() {
    let keyboard = null;
    const ids = [...this.messages.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const m = this.messages.get(id);
      if (m.from_user) continue;
      if (m.reply_keyboard) keyboard = m.reply_keyboard;
      else if (m.remove_keyboard) keyboard = null;
    }
    const box = this.q(".reply-kb");
    box.replaceChildren();
    if (this.group) keyboard = null; // a group shows no private reply keyboard
    box.hidden = !keyboard;
    if (!keyboard) return;
    for (const row of keyboard) {
      const line = el("div", { class: "rkb-row" });
      for (const b of row) {
        line.append(el("button", {
          type: "button", class: `rkb-btn${b.request_contact ? " contact-btn" : ""}`, text: b.text,
          onclick: () => (b.request_contact ? this.shareContact() : this.send({ text: b.text })),
        }));
      }
      box.append(line);
    }
  }

  // ---- actions
  async send(extra) {
    try {
      if (this.group) await api("/api/groups/send", { ...this.groupProfile(), ...extra });
      else await api("/api/send", { ...this.profile(), ...extra });
    } catch (err) {
      this.toast(`Not sent: ${err.message}`);
      throw err;
    }
  }

  async shareContact() {
    let phone = this.persona.phone;
    if (!phone) {
      phone = (window.prompt("Phone number to share", "+86") || "").trim();
      if (!phone) return;
      this.persona.phone = phone;
      this.renderWho();
    }
    await this.send({ phone });
  }

  async press(messageId, data, button) {
    button.classList.add("pressed");
    try {
      const who = this.group ? { user_id: this.asUser.user_id, chat_id: this.group.id } : { user_id: this.persona.user_id };
      await api("/api/press", { ...who, message_id: messageId, data });
    } catch (err) {
      this.toast(`Not pressed: ${err.message}`);
    } finally {
      setTimeout(() => button.classList.remove("pressed"), 400);
    }
  }

  async sendComposer() {
    const input = this.q(".input");
    const text = input.value;
    if (!text.trim() && !this.attachment) return;
    if (this.editing) {
      if (!text.trim()) return;
      try {
        await api("/api/edit", { user_id: this.persona.user_id, message_id: this.editing, text });
      } catch (err) {
        this.toast(`Not edited: ${err.message}`);
        return;
      }
      input.value = "";
      this.setReply(null);
      return;
    }
    const body = { text };
    if (this.replyTo) body.reply_to_message_id = this.replyTo;
    if (this.attachment) {
      const a = this.attachment;
      if (a.isImage) body.photo_base64 = a.base64;
      else Object.assign(body, { document_base64: a.base64, file_name: a.name, mime_type: a.type });
    }
    try {
      await this.send(body);
    } catch (_err) {
      return; // keep what was typed
    }
    input.value = "";
    this.clearAttachment();
    this.setReply(null);
    input.focus();
  }

  pickFile() {
    const file = this.q(".file").files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      this.attachment = {
        name: file.name, type: file.type || "application/octet-stream",
        isImage: /^image\/(png|jpeg|gif|webp)$/.test(file.type), base64: url.slice(url.indexOf(",") + 1),
      };
      this.q(".attachment-name").textContent = `${this.attachment.isImage ? "🖼" : "📎"} ${file.name} (${formatSize(file.size)})`;
      this.q(".attachment").hidden = false;
    };
    reader.readAsDataURL(file);
  }

  setReply(msg, mode) {
    const wasEditing = Boolean(this.editing);
    const editing = Boolean(msg) && mode === "edit";
    this.replyTo = msg && !editing ? msg.id : null;
    this.editing = editing ? msg.id : null;
    this.q(".replying").hidden = !msg;
    this.q(".replying-label").textContent = editing ? "Edit" : "Reply to";
    this.q(".replying-text").textContent = msg ? preview(msg) : "";
    const input = this.q(".input");
    if (editing) input.value = msg.text;
    else if (wasEditing) input.value = "";
    if (msg) input.focus();
  }

  clearAttachment() {
    this.attachment = null;
    this.q(".file").value = "";
    this.q(".attachment").hidden = true;
  }

  toast(text) {
    if (!text) return;
    const box = this.q(".toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
  }
}

// ------------------------------------------------------------------ clock
function applyClock(view) {
  state.clockSkewMs = view.epoch_ms - Date.now();
  state.tz = view.tz;
  state.offsetS = view.offset_s;
  tickClock();
}

function tickClock() {
  const now = (Date.now() + state.clockSkewMs) / 1000;
  document.getElementById("clock-now").textContent = formatTime(now, true);
  const off = Math.round(state.offsetS / 60);
  const label = document.getElementById("clock-offset");
  if (Math.abs(off) < 1) { label.textContent = state.tz; return; }
  const sign = off < 0 ? "−" : "+";
  const mins = Math.abs(off);
  const days = Math.floor(mins / 1440);
  const hours = Math.floor((mins % 1440) / 60);
  label.textContent = `${state.tz} · ${sign}${days ? `${days}d ` : ""}${hours}h ${mins % 60}m vs real time`;
}

async function moveClock(action, button) {
  button.disabled = true;
  try {
    applyClock(await api("/api/clock", { action }));
    await refreshDuty();
  } finally {
    button.disabled = false;
  }
}

async function refreshGroups() {
  state.groups = (await api("/api/groups")).groups;
  for (const pane of state.panes) pane.fillGroups();
}

async function refreshDuty() {
  const { user_ids: ids } = await api("/api/duty");
  state.onDuty = new Set(ids);
  for (const pane of state.panes) pane.markDuty();
}

// ------------------------------------------------------------------ start-up
async function main() {
  state.personas = await api("/api/personas");
  state.groups = (await api("/api/groups")).groups;
  applyClock(await api("/api/clock"));
  setInterval(tickClock, 1000);
  await refreshDuty();
  setInterval(async () => { applyClock(await api("/api/clock")); await refreshDuty(); await refreshGroups(); }, 10000);
  for (const b of document.querySelectorAll(".clock-btn")) {
    b.addEventListener("click", () => moveClock(b.dataset.action, b));
  }
  const panes = document.getElementById("panes");
  const customer = state.personas.customers[0];
  const engineers = state.personas.staff.filter((p) => p.role === "engineer");
  const engineer = engineers.find((p) => state.onDuty.has(p.user_id)) || engineers[0];
  for (const [index, persona] of [customer, engineer].entries()) {
    const pane = new Pane(index, `u:${persona.user_id}`);
    panes.append(pane.root);
    state.panes.push(pane);
    pane.open({ ...persona });
  }
  const toggle = document.getElementById("side-by-side");
  toggle.addEventListener("change", () => panes.classList.toggle("two", toggle.checked));
  document.body.dataset.ready = "1";
}

main().catch((err) => {
  document.body.append(el("p", { class: "fatal", text: `The web chat could not start: ${err.message}` }));
});
