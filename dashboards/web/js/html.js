// Text into HTML templates: everything the hub or a person typed is escaped before it is placed
// in markup (names, ids, notes), so nothing entered can become markup or script.

export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `<option>`s for a select: [value, label] pairs, the one equal to `selected` chosen. */
export const options = (pairs, selected) => pairs
  .map(([value, label]) => `<option value="${esc(value)}"${String(value) === String(selected ?? '') ? ' selected' : ''}>${esc(label)}</option>`)
  .join('');
