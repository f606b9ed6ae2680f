// State: browse groups (scopes) and keys; view, edit and delete values (paged on the server).
import { api, badge, clear, fmt, h, jsonEditor, pagedTable, toast } from '../lib.js'

const PAGE = 50

export default {
  id: 'state', title: 'State', key: 's', icon: '▤',
  mount(root, { params }) {
    let scope = params.scope ?? null
    let offset = 0
    let total = 0
    const groups = h('ul.list.groups')
    const search = h('input', { type: 'search', placeholder: 'Search keys and values  (/)' })
    const pageInfo = h('span.page-info')
    const prev = h('button.small', { onclick: () => load(offset - PAGE) }, '‹')
    const next = h('button.small', { onclick: () => load(offset + PAGE) }, '›')
    const keyInput = h('input', { placeholder: 'key', 'data-name': 'key' })
    const editor = jsonEditor({}, { rows: 16, name: 'value' })
    const editorHead = h('h3', 'Value')
    const table = pagedTable({
      name: 'state', pageSize: PAGE,
      columns: [
        { title: 'Key', className: 'clip-cell narrow', render: (r) => r.key === null ? h('span.muted', { title: 'this engine has no state::list_entries: open the value by its key' }, '(unknown key)') : h('code.clip', { title: r.key, 'data-key': r.key }, r.key) },
        { title: 'Type', render: (r) => badge(Array.isArray(r.value) ? 'array' : r.value === null ? 'null' : typeof r.value) },
        { title: 'Value', className: 'clip-cell', render: (r) => h('span.muted.clip', { title: fmt.short(r.value, 400) }, fmt.short(r.value, 200)) },
      ],
      onSelect: (r) => edit(r.key, r.value),
    })
    const save = async () => {
      if (!scope || !keyInput.value) { toast('choose a group and a key', 'bad'); return }
      let value
      try { value = editor.value() } catch (e) { toast(`invalid JSON: ${e.message}`, 'bad'); return }
      try { await api('state/set', { scope, key: keyInput.value, value }); toast(`saved ${scope}/${keyInput.value}`); load(offset); loadGroups() } catch (e) { toast(e.message, 'bad') }
    }
    const remove = async () => {
      if (!scope || !keyInput.value || !confirm(`Delete ${scope}/${keyInput.value}?`)) return
      try { await api('state/delete', { scope, key: keyInput.value }); toast(`deleted ${scope}/${keyInput.value}`); edit('', {}); load(offset); loadGroups() } catch (e) { toast(e.message, 'bad') }
    }
    const openKey = async () => {
      if (!scope || !keyInput.value) return
      const r = await api('state/get', { scope, key: keyInput.value })
      edit(r.key, r.value ?? {})
      if (r.value === null) toast('no value under this key yet: Save creates it')
    }
    const newScope = h('input', { placeholder: 'new group', 'data-name': 'new-group' })
    clear(root, h('header.view-head', h('h1', 'State'), h('p.muted', 'Edits go through state::set, so state triggers fire.')),
      h('div.three',
        h('div.pane', h('h3', 'Groups'), groups, h('div.row', newScope, h('button.small', { onclick: () => { if (newScope.value) select(newScope.value) } }, '+'))),
        h('div.pane', h('div.toolbar', search), table, h('div.pager', prev, pageInfo, next)),
        h('div.pane', editorHead, h('div.row', keyInput, h('button.small', { onclick: openKey, 'data-action': 'open-key' }, 'Open')), editor,
          h('div.actions', h('button.primary', { onclick: save, 'data-action': 'save' }, 'Save'), h('button.danger', { onclick: remove, 'data-action': 'delete' }, 'Delete'),
            h('button', { onclick: () => edit('', {}) }, 'New')))))
    table.querySelector('.pager').hidden = true // the server pages state

    function edit(key, value) {
      keyInput.value = key ?? ''
      keyInput.disabled = false
      editorHead.textContent = key ? `${scope} / ${key}` : key === null ? 'Value (key unknown: read only)' : 'New value'
      editor.set(value)
    }
    function select(s) { scope = s; offset = 0; loadGroups(); load(0) }
    async function loadGroups() {
      const list = (await api('state/groups')).groups
      if (scope && !list.includes(scope)) list.push(scope)
      if (!scope && list.length) { scope = list[0]; load(0) }
      clear(groups, list.map((g) => h(`li${g === scope ? '.active' : ''}`, { onclick: () => select(g), 'data-group': g }, g)))
    }
    async function load(at) {
      if (!scope) return
      offset = Math.max(0, Math.min(at, Math.max(0, total - 1)))
      const r = await api('state/items', { scope, offset, limit: PAGE, search: search.value.trim() || null })
      total = r.total
      offset = r.offset
      table.setRows(r.items.map((it, i) => ({ ...it, __key: it.key ?? `#${offset + i}` })))
      pageInfo.textContent = total ? `${offset + 1}–${offset + r.items.length} of ${fmt.num(total)}` : '0 items'
      prev.disabled = offset === 0
      next.disabled = offset + PAGE >= total
    }
    search.addEventListener('input', () => load(0))
    loadGroups().then(() => load(0))
    return { table: () => ({ ...table, move: table.move, open: table.open, page: (d) => load(offset + d * PAGE) }), refresh: () => { loadGroups(); load(offset) } }
  },
}
