// The console shell: navigation (hash routes), keyboard shortcuts, theme, engine health.
import { api, clear, h } from './lib.js'
import overview from './views/overview.js'
import flows from './views/flows.js'
import functions from './views/functions.js'
import triggers from './views/triggers.js'
import types from './views/types.js'
import workers from './views/workers.js'
import endpoints from './views/endpoints.js'
import logs from './views/logs.js'
import traces from './views/traces.js'
import state from './views/state.js'
import streams from './views/streams.js'
import queues from './views/queues.js'
import observers from './views/observers.js'

const VIEWS = [overview, flows, functions, triggers, types, workers, endpoints, logs, traces, state, streams, queues, observers]
const main = document.getElementById('view')
let current = null // {view, handle}

function navigate(id, params = {}) {
  const query = new URLSearchParams(params).toString()
  location.hash = `#/${id}${query ? '?' + query : ''}`
}

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?')
  const view = VIEWS.find((v) => v.id === path) ?? VIEWS[0]
  const params = Object.fromEntries(new URLSearchParams(query ?? ''))
  current?.handle?.unmount?.()
  document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('active', a.dataset.view === view.id))
  document.title = `${view.title} · iii console`
  const root = h('section.view', { 'data-view': view.id })
  clear(main, root)
  current = { view, handle: view.mount(root, { go: navigate, params }) ?? {} }
}

function buildNav() {
  const nav = document.getElementById('nav')
  VIEWS.forEach((v, i) => {
    const number = i < 10 ? String((i + 1) % 10) : ''  // overview is 1, flows 2, …
    nav.append(h('a', { href: `#/${v.id}`, 'data-view': v.id, title: `g ${v.key}${number ? ' or ' + number : ''}` },
      h('span.nav-icon', v.icon), h('span.nav-label', v.title), h('kbd', `g ${v.key}`)))
  })
}

// ------------------------------------------------------------------ keyboard
let pendingG = 0
function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
}

function onKey(event) {
  if (event.key === 'Escape') {
    if (typing(event.target)) event.target.blur()
    document.getElementById('help').hidden = true
    return
  }
  if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return
  const table = current?.handle?.table?.()
  const now = Date.now()
  if (now - pendingG < 1200) {
    pendingG = 0
    const view = VIEWS.find((v) => v.key === event.key)
    if (view) { navigate(view.id); event.preventDefault() }
    return
  }
  switch (event.key) {
    case 'g': pendingG = now; return
    case '/': {
      const search = document.querySelector('section.view input[type=search]')
      if (search) { search.focus(); search.select(); event.preventDefault() }
      return
    }
    case 'j': case 'ArrowDown': if (table) { table.move(1); event.preventDefault() } return
    case 'k': case 'ArrowUp': if (table) { table.move(-1); event.preventDefault() } return
    case 'Enter': if (table) { table.open(); event.preventDefault() } return
    case ']': table?.page(1); return
    case '[': table?.page(-1); return
    case 'r': current?.handle?.refresh?.(); return
    case 't': toggleTheme(); return
    case '?': document.getElementById('help').hidden = !document.getElementById('help').hidden; return
  }
  if (/^[0-9]$/.test(event.key)) {
    const view = VIEWS[(Number(event.key) + 9) % 10]
    if (view) navigate(view.id)
  }
}

function buildHelp() {
  const rows = [['g + letter', 'go to a view (shown in the sidebar)'], ['1 … 0', 'the first ten views (1: overview)'], ['/', 'focus search'],
    ['j / k', 'next / previous row'], ['Enter', 'open the selected row'], ['[ / ]', 'previous / next page'],
    ['r', 'refresh the view'], ['t', 'toggle dark / light theme'], ['?', 'this help'], ['Esc', 'leave a field / close']]
  clear(document.getElementById('help'), h('div.help-box', h('h3', 'Keyboard'),
    h('table', rows.map(([k, d]) => h('tr', h('td', h('kbd', k)), h('td', d)))),
    h('button', { onclick: () => { document.getElementById('help').hidden = true } }, 'Close')))
}

// ------------------------------------------------------------------ theme + health
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme
  localStorage.setItem('iii-console-theme', theme)
}
function toggleTheme() { applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark') }

async function health() {
  const dot = document.getElementById('health')
  try {
    const status = await api('status')
    const ok = status.health?.status === 'healthy'
    dot.className = ok ? 'dot ok' : 'dot warn'
    dot.title = `engine ${status.health?.status ?? 'reachable'} · ${status.workers} workers · ${status.functions} functions`
    document.getElementById('counts').textContent = `${status.workers} workers · ${status.functions} functions`
  } catch (e) {
    dot.className = 'dot bad'
    dot.title = `engine unreachable: ${e.message}`
  }
}

applyTheme(localStorage.getItem('iii-console-theme') ?? (matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark'))
buildNav()
buildHelp()
document.getElementById('theme').addEventListener('click', toggleTheme)
document.getElementById('help-button').addEventListener('click', () => { document.getElementById('help').hidden = false })
window.addEventListener('hashchange', route)
document.addEventListener('keydown', onKey)
api('config').then((c) => { document.getElementById('engine').textContent = c.engineUrl }).catch(() => {})
health()
setInterval(health, 5000)
route()
