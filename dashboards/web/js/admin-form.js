// An admin form's two modes: adding a new record, or editing one (its key read-only, its title
// and submit button saying so, a cancel button back to adding). The panes fill in the fields.

import { applyI18n } from './i18n.js';

/**
 * Resets `form` into edit mode when `editing` is true, else into add mode. `key` names the input
 * that identifies the record; `labels` = {add, edit, submitAdd}: i18n keys of the title and button.
 */
export function formMode(form, editing, key, labels) {
  form.reset();
  form[key].readOnly = editing;
  form.querySelector('[data-title]').dataset.i18n = editing ? labels.edit : labels.add;
  form.querySelector('[data-submit]').dataset.i18n = editing ? 'admin_save' : labels.submitAdd;
  form.querySelector('[data-action=cancel-edit]').hidden = !editing;
  applyI18n(form);
}
