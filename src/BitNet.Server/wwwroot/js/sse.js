// Server-sent events over fetch(). EventSource cannot POST or send an Authorization header, so the page reads the
// response body itself. Network chunks have no relation to event boundaries: a chunk may end in the middle of a
// line, of a "\r\n" pair, or of a multi-byte UTF-8 character, so bytes are decoded in streaming mode and only
// complete lines are interpreted.

/**
 * Creates an incremental SSE parser (the subset of the WHATWG event-stream format that OpenAI servers use).
 * `onData(payload)` is called once per event with its data lines joined by "\n"; comments (": ping") and
 * fields other than "data" are ignored.
 */
export function createSseParser(onData) {
  let buffer = '';
  let dataLines = [];

  function line(text) {
    if (text === '') {
      // A blank line ends the event; an event made only of comments carries no data and is dropped.
      if (dataLines.length > 0) onData(dataLines.join('\n'));
      dataLines = [];
      return;
    }
    if (text.startsWith(':')) return; // keep-alive comment
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1); // the spec strips exactly one leading space
    if (field === 'data') dataLines.push(value);
  }

  return {
    /** Feeds decoded text; complete lines are parsed now, the unfinished tail waits for the next chunk. */
    push(text) {
      buffer += text;
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer[i];
        if (c !== '\n' && c !== '\r') continue;
        // A "\r" as the very last character may be the first half of "\r\n": wait for the next chunk to know.
        if (c === '\r' && i === buffer.length - 1) break;
        line(buffer.slice(start, i));
        if (c === '\r' && buffer[i + 1] === '\n') i++;
        start = i + 1;
      }
      buffer = buffer.slice(start);
    },
    /** Ends the stream: a final line without a newline still counts, and a pending event is dispatched. */
    end() {
      if (buffer.length > 0) line(buffer.replace(/\r$/, ''));
      buffer = '';
      line('');
    },
  };
}

/**
 * Yields the data payloads of an SSE response body as they arrive. Stops early if the caller breaks out of the
 * loop (the reader is released) or when the request's AbortSignal fires (the pending read rejects with an AbortError).
 */
export async function* readSseData(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  const ready = [];
  const parser = createSseParser((data) => ready.push(data));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        parser.push(decoder.decode()); // flush a trailing partial character, if any
        parser.end();
      } else {
        parser.push(decoder.decode(value, { stream: true }));
      }
      while (ready.length > 0) yield ready.shift();
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}
