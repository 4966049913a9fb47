// Sampling settings and the API key, kept in localStorage so a reload (or the next visit) keeps them.
// Storage can be unavailable (private windows, disabled cookies); the page then simply forgets between visits.

const SETTINGS_KEY = 'bitnet.chat.settings';
const API_KEY_KEY = 'bitnet.chat.apiKey';

/**
 * The numeric request fields, named as in the form. An empty field is left out of the request (the server's default
 * applies). Ranges are not checked here on purpose: an out-of-range value goes to the server, whose 400 names the
 * field and the allowed range, rather than being silently dropped.
 */
const NUMBER_FIELDS = ['temperature', 'top_p', 'top_k', 'max_tokens', 'seed'];
const ALL_FIELDS = [...NUMBER_FIELDS, 'system'];

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null || value === '') localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Storage full or blocked: the value still applies to this visit.
  }
}

export function loadApiKey() {
  return read(API_KEY_KEY) ?? '';
}

export function saveApiKey(key) {
  write(API_KEY_KEY, key.trim());
}

/** Fills the settings form from storage (unknown or damaged entries are ignored). */
export function restoreSettings(form) {
  let saved = {};
  try {
    saved = JSON.parse(read(SETTINGS_KEY) ?? '{}') ?? {};
  } catch {
    saved = {};
  }
  for (const name of ALL_FIELDS) {
    const input = form.elements.namedItem(name);
    if (input && typeof saved[name] === 'string') input.value = saved[name];
  }
}

/** Saves the form as typed (strings), so what the user sees is what comes back. */
export function persistSettings(form) {
  const saved = {};
  for (const name of ALL_FIELDS) {
    const input = form.elements.namedItem(name);
    if (input) saved[name] = input.value;
  }
  write(SETTINGS_KEY, JSON.stringify(saved));
}

/** The sampling fields of a request body; empty fields are omitted so the server's defaults apply. */
export function samplingFrom(form) {
  const body = {};
  for (const name of NUMBER_FIELDS) {
    const text = form.elements.namedItem(name)?.value ?? '';
    const value = Number(text);
    if (text !== '' && Number.isFinite(value)) body[name] = value;
  }
  return body;
}

/** The system prompt, or '' when none. */
export function systemPromptFrom(form) {
  return (form.elements.namedItem('system')?.value ?? '').trim();
}
