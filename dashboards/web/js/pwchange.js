// The password change an account must make before anything else: a new or reset account, or the
// first admin with the generated password (the hub answers 403 password_change_required to every
// other request until then). Shown in the login overlay, in place of the login form; the console
// and the wall share it through the shell.

import { changePassword, HTTP } from './api.js';
import { t, applyI18n } from './i18n.js';

const MIN = 12;
const MAX = 128;

/** The hub's refusal codes (POST /api/v1/auth/password) with their message keys. */
const REFUSALS = {
  password_too_short: 'pw_too_short',
  password_too_long: 'pw_too_long',
  password_common: 'pw_common',
  password_contains_username: 'pw_contains_username',
  password_classes: 'pw_classes',
  password_reused: 'pw_reused',
  password_unchanged: 'pw_unchanged',
};

const FORM = `
  <div class="brand big"><span class="brand-mark">IOC</span><div><div data-i18n="app_title"></div></div></div>
  <h1 data-i18n="pw_title"></h1>
  <p class="muted" data-i18n="pw_intro"></p>
  <p class="login-msg" role="alert" hidden></p>
  <label class="field" data-field="current"><span data-i18n="pw_current"></span><input name="current" type="password" autocomplete="current-password"></label>
  <label class="field"><span data-i18n="pw_new"></span><input name="new" type="password" autocomplete="new-password" required minlength="${MIN}" maxlength="${MAX}"></label>
  <label class="field"><span data-i18n="pw_confirm"></span><input name="confirm" type="password" autocomplete="new-password" required></label>
  <p class="muted small" data-i18n="pw_rules"></p>
  <button class="btn primary" type="submit" data-i18n="pw_submit"></button>
  <button class="btn link" type="button" data-action="pw-logout" data-i18n="logout"></button>
  <button class="btn link" type="button" data-action="lang" translate="no" data-i18n="lang_toggle" data-i18n-title="lang_toggle_title"></button>`;

/**
 * The form, added to the login overlay `container`. `show(current)` shows it (without the
 * current-password field when the caller just typed it at the login) and resolves once the hub
 * accepted a new password; `onLogout` is called when the person gives up and signs out instead.
 */
export function createPasswordChange(container, { onLogout }) {
  const form = document.createElement('form');
  form.className = 'login-card';
  form.dataset.form = 'pwchange';
  form.hidden = true;
  form.innerHTML = FORM;
  container.appendChild(form);
  applyI18n(form);
  const msg = form.querySelector('.login-msg');
  let known = null;
  let done = null;

  function say(key, detail) {
    msg.dataset.i18n = key || '';
    msg.textContent = key ? t(key) + (detail ? ` ${detail}` : '') : '';
    msg.className = 'login-msg error';
    msg.hidden = !key;
  }

  form.querySelector('[data-action=pw-logout]').addEventListener('click', () => {
    form.hidden = true;
    onLogout();
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const current = known ?? form.current.value;
    const next = form.new.value;
    if ([...next].length < MIN) { say('pw_too_short'); return; }
    if (next !== form.confirm.value) { say('pw_mismatch'); return; }
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      await changePassword(current, next);
      form.reset();
      form.hidden = true;
      known = null;
      say('');
      done?.();
    } catch (err) {
      if (err.status === HTTP.BAD_REQUEST && REFUSALS[err.code]) say(REFUSALS[err.code]);
      else if (err.status === HTTP.BAD_REQUEST) say('pw_current_wrong');
      else say('login_failed', err.message);
    } finally {
      btn.disabled = false;
    }
  });

  return {
    show(current) {
      known = current ?? null;
      form.querySelector('[data-field=current]').hidden = known !== null;
      form.current.required = known === null;
      form.hidden = false;
      say('');
      (known === null ? form.current : form.new).focus();
      return new Promise((resolve) => { done = resolve; });
    },
    hide() { form.hidden = true; },
  };
}
