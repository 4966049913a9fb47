// The demo chat page: wires the form controls to the API and renders the conversation.
// Text from the model or the user is only ever inserted as text (never as HTML), so nothing it contains can run.

import { ApiError, getHealth, getModel, streamChat } from './api.js';
import { loadApiKey, persistSettings, restoreSettings, samplingFrom, saveApiKey, systemPromptFrom } from './settings.js';

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'),
  statusText: $('status-text'),
  sidebar: $('sidebar'),
  toggleSidebar: $('toggle-sidebar'),
  keyForm: $('key-form'),
  apiKey: $('api-key'),
  keyMessage: $('key-message'),
  settings: $('settings-form'),
  messages: $('messages'),
  emptyState: $('empty-state'),
  composer: $('composer'),
  prompt: $('prompt'),
  send: $('send'),
  stop: $('stop'),
  newChat: $('new-chat'),
};

/**
 * The conversation as the API sees it: completed turns only (failed turns are left out), each with its bubble.
 * `kept` is the index of the oldest turn still sent: older ones no longer fit the context and stay on screen, dimmed.
 */
const newConversation = () => ({ turns: [], kept: 0 });
let conversation = newConversation();
/** The loaded model's id, sent as `model`; null until /v1/models answered. */
let modelId = null;
/** Context length per sequence (the card's meta.n_ctx); null until /v1/models answered. */
let contextLength = null;
/** Aborts the answer being streamed; null when idle. */
let controller = null;
let modelRetry = null;

// ---- status, model panel and API key ----------------------------------------------------------------------------

function setStatus(state, text) {
  ui.status.dataset.state = state;
  ui.statusText.textContent = text;
}

function showKeyMessage(text) {
  ui.keyMessage.textContent = text;
  ui.keyMessage.hidden = !text;
  if (text) {
    openSidebar(true); // on a phone the key field lives in the collapsed panel
    ui.apiKey.focus();
  }
}

const AUTH_HELP = 'This server requires an API key. Enter it here and press Save, then send your message again.';
const AUTH_INLINE = 'This server requires an API key. Enter it in the API key field and press Save, then send again.';

function formatBytes(n) {
  if (!Number.isFinite(n) || n <= 0) return '—';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

const count = (n) => (Number.isFinite(n) ? n.toLocaleString('en-US') : '—');

/**
 * The answer length the page asks for when the Max tokens field is empty: a quarter of the context (16..512), so an
 * answer never fills the context and the next turn still fits. The server's own default would use what is left.
 */
function defaultMaxTokens() {
  return Number.isFinite(contextLength) ? Math.max(16, Math.min(512, Math.floor(contextLength / 4))) : null;
}

function showModel(card) {
  const meta = card.meta ?? {};
  contextLength = Number.isFinite(meta.n_ctx) ? meta.n_ctx : null;
  const maxField = ui.settings.elements.namedItem('max_tokens');
  if (maxField && defaultMaxTokens()) maxField.placeholder = `default (${defaultMaxTokens()})`;
  const set = (id, value) => ($(id).textContent = value ?? '—');
  set('model-id', card.id);
  set('model-arch', meta.architecture);
  set('model-ctx', Number.isFinite(meta.n_ctx) ? `${count(meta.n_ctx)} tokens` : null);
  set('model-format', meta.chat_format);
  set('model-kernels', meta.kernels);
  set('model-layers', Number.isFinite(meta.n_layer) ? count(meta.n_layer) : null);
  set('model-vocab', Number.isFinite(meta.n_vocab) ? count(meta.n_vocab) : null);
  set('model-parallel', Number.isFinite(meta.parallel) ? count(meta.parallel) : null);
  set('model-size', formatBytes(meta.size));
}

/** Loads the model card; retries while the server is still loading the model (503). */
async function loadModel() {
  clearTimeout(modelRetry);
  try {
    const card = await getModel(ui.apiKey.value.trim());
    modelId = card.id;
    showModel(card);
    showKeyMessage('');
    setStatus('ready', `Ready · ${card.id}`);
  } catch (e) {
    if (e instanceof ApiError && e.isAuth) {
      setStatus('error', 'API key required');
      showKeyMessage(AUTH_HELP);
    } else if (e instanceof ApiError && e.status === 503) {
      setStatus('pending', `Model not ready: ${e.message}`);
      modelRetry = setTimeout(loadModel, 2000);
    } else {
      // Maybe the server is down or restarting; /health says which without needing a key.
      const health = await getHealth().catch(() => null);
      setStatus('error', health ? `Server problem: ${e.message}` : 'Cannot reach the server');
      modelRetry = setTimeout(loadModel, 5000);
    }
  }
}

// ---- messages --------------------------------------------------------------------------------------------------

/** Appends one message bubble; returns its parts so streaming can fill them in. */
function addMessage(role, content) {
  ui.emptyState.hidden = true;
  const article = document.createElement('article');
  article.className = `msg ${role}`;
  const who = document.createElement('h3');
  who.className = 'who';
  who.textContent = role === 'user' ? 'You' : 'Model';
  const body = document.createElement('div');
  body.className = 'text';
  const text = document.createTextNode(content);
  body.append(text);
  article.append(who, body);
  ui.messages.append(article);
  scrollToEnd(true);
  return { article, body, text };
}

function addNote(bubble, className, message, role) {
  const p = document.createElement('p');
  p.className = className;
  if (role) p.setAttribute('role', role);
  p.textContent = message;
  bubble.article.append(p);
  return p;
}

/** Keeps the newest text in view unless the user scrolled up to read something older. */
function scrollToEnd(force) {
  const m = ui.messages;
  const nearBottom = m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  if (force || nearBottom) m.scrollTop = m.scrollHeight;
}

function formatMs(ms) {
  if (!Number.isFinite(ms)) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/**
 * The line under an answer. While streaming it is measured in the browser (deltas are ~tokens); the final
 * usage/timings chunk then replaces it with the server's own figures, which exclude network time.
 */
function renderStats(el, s) {
  const parts = [`TTFT ${formatMs(s.ttftMs)}`, `${Number.isFinite(s.tps) ? s.tps.toFixed(1) : '—'} tok/s`];
  if (s.promptTokens != null) parts.push(`${count(s.promptTokens)} prompt`);
  parts.push(`${count(s.completionTokens)} completion token${s.completionTokens === 1 ? '' : 's'}`);
  if (s.cachedTokens) parts.push(`${count(s.cachedTokens)} cached`);
  const finish = finishOf(s);
  if (finish) parts.push(FINISH_TEXT[finish]);
  el.textContent = parts.join(' · ');
  el.dataset.finish = finish ?? '';
  // The figures as numbers too, for scripts and tests that read the page.
  el.dataset.ttftMs = String(s.ttftMs ?? '');
  el.dataset.tokensPerSecond = String(s.tps ?? '');
  el.dataset.promptTokens = String(s.promptTokens ?? '');
  el.dataset.completionTokens = String(s.completionTokens ?? '');
}

const FINISH_TEXT = {
  stop: 'finish: stop',
  length: 'finish: max tokens',
  context_full: 'finish: context full',
  stopped: 'finish: stopped',
};

/**
 * The real reason an answer ended: the API says "length" both when max_tokens was reached and when the context
 * filled up; the usage figures tell them apart.
 */
function finishOf(s) {
  if (s.finish !== 'length') return s.finish;
  const used = (s.promptTokens ?? 0) + (s.completionTokens ?? 0);
  return Number.isFinite(contextLength) && s.promptTokens != null && used >= contextLength ? 'context_full' : 'length';
}

/** Leaves the oldest exchange (a user message and its answer) out of what is sent; false when only the new message is left. */
function dropOldestExchange(conv) {
  const last = conv.turns.length - 1; // the message being sent, always kept
  if (conv.kept >= last) return false;
  const n = conv.turns[conv.kept + 1]?.role === 'assistant' && conv.kept + 1 < last ? 2 : 1;
  for (const turn of conv.turns.slice(conv.kept, conv.kept + n)) turn.article?.classList.add('dropped');
  conv.kept += n;
  return true;
}

// ---- sending -------------------------------------------------------------------------------------------------

function setBusy(busy) {
  ui.send.disabled = busy;
  ui.stop.hidden = !busy;
  ui.messages.setAttribute('aria-busy', String(busy));
  if (!busy && document.activeElement === ui.stop) ui.prompt.focus();
}

async function send() {
  const content = ui.prompt.value.trim();
  if (!content || controller) return;
  ui.prompt.value = '';
  const userBubble = addMessage('user', content);
  // "New chat" replaces `conversation` while this answer may still be ending; its late updates go to the old one.
  const conv = conversation;
  const turns = conv.turns;
  turns.push({ role: 'user', content, article: userBubble.article });

  const system = systemPromptFrom(ui.settings);
  const sampling = samplingFrom(ui.settings);
  const pageChoseMax = !('max_tokens' in sampling) && defaultMaxTokens() !== null;
  if (pageChoseMax) sampling.max_tokens = defaultMaxTokens();
  const keptBefore = conv.kept;
  const requestBody = () => ({
    ...(modelId ? { model: modelId } : {}),
    messages: [...(system ? [{ role: 'system', content: system }] : []),
      ...turns.slice(conv.kept).map(({ role, content: text }) => ({ role, content: text }))],
    ...sampling,
  });

  const bubble = addMessage('assistant', '');
  bubble.article.classList.add('streaming');
  // aria-busy asks screen readers to wait for the finished answer instead of reading every token.
  bubble.article.setAttribute('aria-busy', 'true');
  const statsEl = addNote(bubble, 'stats', 'Waiting for the first token…');
  const stats = { ttftMs: NaN, tps: NaN, promptTokens: null, completionTokens: 0, cachedTokens: 0, finish: null };
  const started = performance.now();
  let firstAt = 0;
  let answer = '';
  let outcome = 'failed';

  /** One request: streams the answer into the bubble; throws ApiError before the first token if the server refuses. */
  const streamAnswer = async () => {
    for await (const ev of streamChat(ui.apiKey.value.trim(), requestBody(), controller.signal)) {
      if (ev.kind === 'delta') {
        const now = performance.now();
        if (!firstAt) firstAt = now;
        answer += ev.text;
        bubble.text.data = answer;
        stats.completionTokens++;
        stats.ttftMs = firstAt - started;
        // Rate over the gaps between deltas: the first token's wait is prompt time, not generation speed.
        stats.tps = now > firstAt ? ((stats.completionTokens - 1) * 1000) / (now - firstAt) : NaN;
        renderStats(statsEl, stats);
        scrollToEnd(false);
      } else if (ev.kind === 'finish') {
        stats.finish = ev.reason;
      } else if (ev.kind === 'usage') {
        const t = ev.timings;
        stats.promptTokens = ev.usage.prompt_tokens;
        stats.completionTokens = ev.usage.completion_tokens;
        stats.cachedTokens = ev.usage.prompt_tokens_details?.cached_tokens ?? 0;
        if (t && Number.isFinite(t.ttft_ms)) stats.ttftMs = t.ttft_ms;
        if (t && Number.isFinite(t.predicted_per_second) && t.predicted_per_second > 0) stats.tps = t.predicted_per_second;
        renderStats(statsEl, stats);
      }
    }
  };

  controller = new AbortController();
  setBusy(true);
  try {
    for (;;) {
      try {
        await streamAnswer();
        break;
      } catch (e) {
        // The conversation no longer fits the context (the server measured it exactly): leave out the oldest
        // exchange and ask again; with only this message left, an answer length the page chose is left to the server.
        if (!(e instanceof ApiError && e.code === 'context_length_exceeded') || answer) throw e;
        if (dropOldestExchange(conv)) continue;
        if (pageChoseMax && 'max_tokens' in sampling) {
          delete sampling.max_tokens;
          continue;
        }
        throw e;
      }
    }
    if (conv.kept > keptBefore) {
      addNote(bubble, 'hint trimmed',
        `The ${conv.kept} oldest message${conv.kept === 1 ? '' : 's'} no longer fit the ${count(contextLength)}-token context and ` +
        `${conv.kept === 1 ? 'was' : 'were'} left out (dimmed above).`);
    }
    renderStats(statsEl, stats);
    if (!answer) addNote(bubble, 'hint', 'The model returned no text.');
    turns.push({ role: 'assistant', content: answer, article: bubble.article });
    outcome = 'done';
  } catch (e) {
    const aborted = e?.name === 'AbortError';
    outcome = aborted ? 'stopped' : 'failed';
    if (aborted && answer) {
      // A stopped answer stays in the conversation as far as it got, as it is shown.
      stats.finish = 'stopped';
      renderStats(statsEl, stats);
      turns.push({ role: 'assistant', content: answer, article: bubble.article });
    } else {
      // The turn failed: keep it on screen, dimmed, but out of the history sent with the next message.
      turns.pop();
      userBubble.article.classList.add('failed');
      bubble.article.classList.add('failed');
      if (!answer) statsEl.remove();
      if (aborted) {
        addNote(bubble, 'hint', 'Stopped before the first token.');
      } else {
        const auth = e instanceof ApiError && e.isAuth;
        const message = auth ? AUTH_INLINE : e instanceof ApiError ? e.message : `Network error: ${e?.message ?? e}`;
        const status = e instanceof ApiError && e.status ? `${e.status}: ` : '';
        addNote(bubble, 'error', `${status}${message}`, 'alert');
        if (auth) {
          setStatus('error', 'API key required');
          showKeyMessage(AUTH_HELP);
        }
      }
      // Give the text back so the user can resend it (e.g. after entering the key) without retyping,
      // unless the user has started a new chat meanwhile.
      if (!ui.prompt.value && conv === conversation) ui.prompt.value = content;
    }
  } finally {
    bubble.article.classList.remove('streaming');
    bubble.article.setAttribute('aria-busy', 'false');
    controller = null;
    setBusy(false);
    // Set last, once the page is ready for the next message: 'done', 'stopped' or 'failed'.
    bubble.article.dataset.state = outcome;
    scrollToEnd(false);
  }
}

function newChat() {
  controller?.abort();
  conversation = newConversation();
  for (const el of [...ui.messages.querySelectorAll('.msg')]) el.remove();
  ui.emptyState.hidden = false;
  ui.prompt.focus();
}

function openSidebar(open) {
  ui.sidebar.classList.toggle('open', open);
  ui.toggleSidebar.setAttribute('aria-expanded', String(open));
}

// ---- wiring --------------------------------------------------------------------------------------------------

ui.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  send();
});
ui.prompt.addEventListener('keydown', (e) => {
  // Enter sends; Shift+Enter is a new line; an IME composition's Enter only confirms the characters.
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.stop.addEventListener('click', () => controller?.abort());
ui.newChat.addEventListener('click', newChat);
ui.toggleSidebar.addEventListener('click', () => openSidebar(!ui.sidebar.classList.contains('open')));
document.addEventListener('keydown', (e) => {
  // Escape closes the settings drawer (narrow screens) and returns focus to the button that opened it.
  if (e.key === 'Escape' && ui.sidebar.classList.contains('open')) {
    openSidebar(false);
    ui.toggleSidebar.focus();
  }
});
ui.keyForm.addEventListener('submit', (e) => {
  e.preventDefault();
  saveApiKey(ui.apiKey.value);
  showKeyMessage('');
  setStatus('pending', 'Checking the key…');
  loadModel();
});
ui.settings.addEventListener('input', () => persistSettings(ui.settings));
ui.settings.addEventListener('submit', (e) => e.preventDefault());

ui.apiKey.value = loadApiKey();
restoreSettings(ui.settings);
loadModel();
ui.prompt.focus();
