// Drives BitNet.Server with the official `ollama` npm client, as Open WebUI-style apps and scripts use it.
// Usage: node client-test.mjs http://127.0.0.1:PORT MODEL_NAME
// Prints one JSON object with what each call returned; any client error or failed check exits with code 1.
import { Ollama } from 'ollama'
import assert from 'node:assert/strict'

const [host, model] = process.argv.slice(2)
assert.ok(host && model, 'usage: node client-test.mjs HOST MODEL')
const ollama = new Ollama({ host })
const options = { temperature: 0, num_predict: 12, seed: 7 }
const messages = [{ role: 'user', content: 'Tell me a story about a cat.' }]
const out = {}

const list = await ollama.list()
assert.equal(list.models.length, 1)
out.list = list.models.map((m) => ({ name: m.name, size: m.size, format: m.details.format, family: m.details.family }))

const show = await ollama.show({ model })
assert.ok(Array.isArray(show.capabilities))
out.show = { capabilities: show.capabilities, family: show.details.family, context: show.model_info[`${show.details.family}.context_length`] }

const chat = await ollama.chat({ model, messages, stream: false, options })
assert.equal(chat.done, true)
assert.equal(chat.message.role, 'assistant')
out.chat = { content: chat.message.content, done_reason: chat.done_reason, eval_count: chat.eval_count, prompt_eval_count: chat.prompt_eval_count,
  total_duration: chat.total_duration, eval_duration: chat.eval_duration }

let streamed = ''
let parts = 0
let last = null
for await (const part of await ollama.chat({ model, messages, stream: true, options })) {
  parts++
  streamed += part.message.content
  last = part
}
assert.equal(last.done, true)
out.chatStream = { content: streamed, parts, done_reason: last.done_reason, eval_count: last.eval_count }

const generate = await ollama.generate({ model, prompt: 'Once upon a time', raw: true, stream: false, options })
assert.equal(generate.done, true)
out.generate = { response: generate.response, done_reason: generate.done_reason, eval_count: generate.eval_count }

let generated = ''
for await (const part of await ollama.generate({ model, prompt: 'Once upon a time', raw: true, stream: true, options })) generated += part.response
out.generateStream = { response: generated }

const embed = await ollama.embed({ model, input: ['The dog ran in the park.', 'A bird sang a song.'] })
out.embed = { count: embed.embeddings.length, width: embed.embeddings[0].length, first: embed.embeddings[0].slice(0, 8), prompt_eval_count: embed.prompt_eval_count }

try {
  await ollama.show({ model: 'no-such-model:7b' })
  assert.fail('show of an unknown model succeeded')
} catch (e) {
  out.unknownModel = { status: e.status_code, error: e.error ?? e.message }
}

console.log(JSON.stringify(out))
