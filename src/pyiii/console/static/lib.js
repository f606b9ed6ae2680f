// Shared helpers of the console views: API calls, DOM building, paging, JSON editing.

/** Calls the console API; throws Error(message) on a failed call. */
export async function api(path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
  const resp = await fetch(`/api/${path}`, init)
  const data = await resp.json().catch(() => ({ error: { message: `HTTP ${resp.status}` } }))
  if (!resp.ok || (data && data.error && !('ok' in data))) throw new Error(data?.error?.message ?? `HTTP ${resp.status}`)
  return data
}

/** h('div.card#x', {onclick}, child, ...) — a tiny element builder. Strings become text nodes. */
export function h(tag, attrs, ...children) {
  const [, name, rest] = tag.match(/^([a-z0-9]+)(.*)$/i)
  const el = document.createElement(name)
  for (const part of rest.match(/[.#][^.#]+/g) ?? []) {
    if (part[0] === '.') el.classList.add(part.slice(1))
    else el.id = part.slice(1)
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs)
    attrs = null
  }
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
    else if (k === 'value') el.value = v
    else el.setAttribute(k, v === true ? '' : v)
  }
  append(el, children)
  return el
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue
    el.append(child instanceof Node ? child : String(child))
  }
}

export function clear(el, ...children) {
  el.replaceChildren()
  append(el, children)
  return el
}

export const fmt = {
  json: (v) => JSON.stringify(v, null, 2),
  short: (v, n = 80) => { const s = typeof v === 'string' ? v : JSON.stringify(v); return s && s.length > n ? s.slice(0, n) + '…' : s ?? '' },
  time: (ms) => (ms ? new Date(ms).toLocaleTimeString() : '–'),
  dateTime: (ms) => (ms ? new Date(ms).toLocaleString() : '–'),
  ago: (ms) => {
    if (!ms) return '–'
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000))
    return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  },
  ms: (v) => (v === null || v === undefined ? '–' : v < 1 ? `${v.toFixed(2)} ms` : v < 1000 ? `${v.toFixed(1)} ms` : `${(v / 1000).toFixed(2)} s`),
  num: (n) => (n ?? 0).toLocaleString(),
}

/** A toast at the bottom right. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts')
  const el = h(`div.toast.${kind}`, { role: 'status' }, message)
  box.append(el)
  setTimeout(() => el.remove(), 4000)
}

/** A textarea holding JSON, with inline validation. `.value()` throws on invalid JSON. */
export function jsonEditor(initial, { rows = 10, name = 'json' } = {}) {
  const area = h('textarea.json', { rows, spellcheck: 'false', 'data-name': name })
  area.value = typeof initial === 'string' ? initial : fmt.json(initial ?? {})
  const hint = h('div.hint')
  const check = () => {
    try { if (area.value.trim()) JSON.parse(area.value); hint.textContent = ''; area.classList.remove('bad') } catch (e) { hint.textContent = e.message; area.classList.add('bad') }
  }
  area.addEventListener('input', check)
  const root = h('div.editor', area, hint)
  root.area = area
  root.value = () => (area.value.trim() ? JSON.parse(area.value) : null)
  root.set = (v) => { area.value = typeof v === 'string' ? v : fmt.json(v); check() }
  return root
}

/** An example value for a JSON schema (prefills payload editors). */
export function exampleFor(schema, depth = 0) {
  if (!schema || typeof schema !== 'object' || depth > 6) return {}
  if ('default' in schema) return schema.default
  if (schema.examples?.length) return schema.examples[0]
  if (schema.enum?.length) return schema.enum[0]
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  if (schema.anyOf?.length || schema.oneOf?.length) return exampleFor((schema.anyOf ?? schema.oneOf)[0], depth + 1)
  switch (type) {
    case 'string': return schema.minLength ? 'x'.repeat(schema.minLength) : ''
    case 'integer': case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0)
    case 'boolean': return false
    case 'array': return []
    case 'null': return null
    default: {
      const out = {}
      for (const [k, v] of Object.entries(schema.properties ?? {})) out[k] = exampleFor(v, depth + 1)
      return out
    }
  }
}

/**
 * A paged table: only the rows of the current page are in the DOM, so thousands of items stay fast.
 * columns: [{title, render(row) -> node|string, className?, when?(rows) -> bool}]: a column with
 * `when` is shown only while it is true for the rows (a field some engines do not send);
 * onSelect(row) when a row is opened.
 */
export function pagedTable({ columns, pageSize = 50, onSelect, empty = 'Nothing here yet.', rowClass, name = 'table' }) {
  let rows = []
  let page = 0
  let selected = -1
  let selectedKey = null
  const body = h('tbody')
  const info = h('span.page-info')
  const prev = h('button.small', { onclick: () => go(page - 1), title: 'previous page' }, '‹')
  const next = h('button.small', { onclick: () => go(page + 1), title: 'next page' }, '›')
  const head = h('tr')
  const table = h('table.grid', { 'data-table': name }, h('thead', head), body)
  let shown = null
  const root = h('div.paged', h('div.table-wrap', table), h('div.pager', prev, info, next))
  const pages = () => Math.max(1, Math.ceil(rows.length / pageSize))
  const keyOf = (row) => row?.__key ?? JSON.stringify(row).slice(0, 200)

  function go(p) { page = Math.min(Math.max(0, p), pages() - 1); render() }
  function render() {
    const visible = columns.filter((c) => !c.when || c.when(rows))
    if (shown === null || visible.length !== shown.length || visible.some((c, i) => c !== shown[i])) {
      shown = visible
      clear(head, visible.map((c) => h('th', c.title)))
    }
    const start = page * pageSize
    const slice = rows.slice(start, start + pageSize)
    info.textContent = rows.length ? `${fmt.num(start + 1)}–${fmt.num(start + slice.length)} of ${fmt.num(rows.length)}` : '0 items'
    prev.disabled = page === 0
    next.disabled = page >= pages() - 1
    if (!slice.length) { clear(body, h('tr', h('td.empty', { colspan: shown.length }, empty))); return }
    clear(body, slice.map((row, i) => {
      const tr = h('tr', { class: rowClass?.(row) ?? '', onclick: () => select(i, true) }, shown.map((c) => h('td', { class: c.className ?? '' }, c.render(row))))
      if (selectedKey !== null && keyOf(row) === selectedKey) { tr.classList.add('selected'); selected = i }
      return tr
    }))
  }
  function select(i, open) {
    const trs = body.querySelectorAll('tr')
    if (!trs.length || !rows.length) return
    i = Math.min(Math.max(0, i), trs.length - 1)
    trs.forEach((tr) => tr.classList.remove('selected'))
    trs[i]?.classList.add('selected')
    trs[i]?.scrollIntoView({ block: 'nearest' })
    selected = i
    const row = rows[page * pageSize + i]
    selectedKey = keyOf(row)
    if (open && row) onSelect?.(row)
  }
  root.setRows = (r) => { rows = r; if (page >= pages()) page = pages() - 1; render() }
  root.rows = () => rows
  // keyboard (j/k/Enter, [ ]) — the app routes keys to the view's active table
  root.move = (d) => select(selected + d, false)
  root.open = () => select(selected < 0 ? 0 : selected, true)
  root.page = (d) => go(page + d)
  render()
  return root
}

/** A small "k=v" / "Name: v" lines parser for query and header editors. */
export function parsePairs(text, sep) {
  const out = {}
  for (const line of text.split('\n')) {
    const i = line.indexOf(sep)
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim()
  }
  return out
}

/** Text on one line, cut with an ellipsis; the whole text is the tooltip. */
export function clip(text, { tag = 'span', max } = {}) {
  const value = text === null || text === undefined ? '–' : String(text)
  return h(`${tag}.clip`, { title: value, style: max ? `max-width:${max}` : null }, value)
}

/** A small button copying `text` to the clipboard. */
export function copyButton(text, label = 'copy') {
  return h('button.small.copy', {
    title: `copy ${text}`, 'data-copy': text,
    onclick: async (e) => {
      e.stopPropagation()
      try { await navigator.clipboard.writeText(text); toast('copied') } catch { toast('copy failed: select the text instead', 'bad') }
    },
  }, label)
}

/** An id shown short (its start), whole in the tooltip, with a copy button. */
export function shortId(id, n = 12) {
  if (!id) return '–'
  return h('span.short-id', h('code', { title: id }, id.length > n ? id.slice(0, n) + '…' : id), copyButton(id))
}

const SVG_NS = 'http://www.w3.org/2000/svg'
/** An SVG element (same calling style as h, attributes only). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag)
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v)
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  return el
}

export function badge(text, kind = '') { return h(`span.badge${kind ? '.' + kind : ''}`, text) }

export function field(label, control) { return h('label.field', h('span', label), control) }

/** Pretty body: JSON if it parses, the text otherwise. */
export function prettyBody(text) {
  try { return fmt.json(JSON.parse(text)) } catch { return text }
}

// ------------------------------------------------------------------ namespaces (iii 0.23+)

export const DEFAULT_NS = 'default'
/** The longest namespace the URL may name (the console's API refuses longer ones too). */
export const MAX_NS = 256

/** A usable namespace from the URL or a row, else '' (every namespace). */
export function cleanNs(value) {
  return typeof value === 'string' && value.length <= MAX_NS && value.trim() !== '' && !/[\u0000-\u001f\u007f]/.test(value) ? value : ''
}

/** A row's namespace: rows of engines before namespaces are in default. */
export function nsOf(row) { return cleanNs(row?.namespace) || DEFAULT_NS }

/** A namespace cell: `default` plainly, any other as a badge. */
export function nsCell(ns) {
  const value = ns || DEFAULT_NS
  return value === DEFAULT_NS ? h('span.ns.muted', { 'data-namespace': value }, value)
    : h('span.badge.ns', { 'data-namespace': value, title: value }, value)
}

/** Sets (or, with '', drops) one parameter of the view's URL without mounting the view again. */
export function rememberParam(view, key, value) {
  const query = location.hash.split('?')[1] ?? ''
  const params = new URLSearchParams(query)
  if (value) params.set(key, value)
  else params.delete(key)
  const text = params.toString()
  history.replaceState(null, '', `#/${view}${text ? '?' + text : ''}`)
}

/**
 * The namespace filter of a view: "all namespaces" or one, kept in the URL as `ns`.
 * `.current()` is the chosen namespace ('' for all); `.setNamespaces(list)` fills the choices
 * (the chosen one stays listed even when nothing is in it right now); `onChange()` after a choice.
 */
export function namespaceFilter(view, params, onChange) {
  let value = cleanNs(params.ns)
  const select = h('select', { 'data-name': 'namespace', title: 'namespace', 'aria-label': 'namespace' })
  let shown = null
  select.setNamespaces = (list) => {
    const names = list.map(cleanNs).filter(Boolean)
    if (value && !names.includes(value)) names.push(value)
    const key = JSON.stringify([value, names])
    if (key === shown) return // unchanged: an open dropdown stays open through the view's polling
    shown = key
    clear(select, h('option', { value: '' }, 'all namespaces'), names.map((ns) => h('option', { value: ns }, ns)))
    select.value = value
  }
  select.addEventListener('change', () => {
    value = cleanNs(select.value)
    rememberParam(view, 'ns', value)
    onChange()
  })
  select.current = () => value
  select.query = () => (value ? `namespace=${encodeURIComponent(value)}` : '')
  select.setNamespaces([])
  return select
}

/** Invocations the worker's SDK ran locally (iii 0.25 local dispatch), reported by the engine as
 * `local_invocations` (a count, or an object with one); null when the row has none. */
export function localCount(row) {
  const v = row?.local_invocations
  if (typeof v === 'number') return v
  if (v && typeof v === 'object') {
    const n = v.count ?? v.total ?? v.invocations
    return typeof n === 'number' ? n : null
  }
  return null
}

/** The "Local" column: shown only while some row carries `local_invocations`. */
export const localColumn = {
  title: 'Local', className: 'num',
  when: (rows) => rows.some((r) => localCount(r) !== null),
  render: (r) => { const n = localCount(r); return n === null ? '' : h('span', { 'data-local': String(n), title: 'invocations run inside the worker (local dispatch)' }, fmt.num(n)) },
}
