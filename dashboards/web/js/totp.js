// The second factor in the login overlay: the enrolment an admin or supervisor must make where
// the hub requires one (it answers 403 totp_enrollment_required until then), and that anyone may
// make. The secret goes into an authenticator app (the otpauth link, or typed in); the app's first
// code confirms it, and the ten recovery codes are shown once, to be kept on paper.

import { enrolTotp, confirmTotp, HTTP } from './api.js';
import { t, applyI18n } from './i18n.js';

const FORM = `
  <div class="brand big"><span class="brand-mark">IOC</span><div><div data-i18n="app_title"></div></div></div>
  <h1 data-i18n="totp_title"></h1>
  <div data-step="scan">
    <p class="muted" data-i18n="totp_intro"></p>
    <div class="totp-qr" data-qr></div>
    <p><a class="btn link" data-otpauth href="#" data-i18n="totp_open_app"></a></p>
    <label class="field"><span data-i18n="totp_secret"></span><input name="secret" class="mono" readonly></label>
    <p class="login-msg" role="alert" hidden></p>
    <label class="field"><span data-i18n="totp_code"></span><input name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required></label>
    <button class="btn primary" type="submit" data-i18n="totp_confirm"></button>
  </div>
  <div data-step="codes" hidden>
    <p data-i18n="totp_codes_intro"></p>
    <ol class="recovery-codes mono" data-codes></ol>
    <button class="btn primary" type="button" data-action="totp-done" data-i18n="totp_codes_saved"></button>
  </div>
  <button class="btn link" type="button" data-action="totp-logout" data-i18n="logout"></button>
  <button class="btn link" type="button" data-action="lang" translate="no" data-i18n="lang_toggle" data-i18n-title="lang_toggle_title"></button>`;

/** The hub's QR code (an SVG document) into `box`, parsed as SVG, never as HTML. */
function showQr(box, svgText) {
  const svg = svgText && new DOMParser().parseFromString(svgText, 'image/svg+xml').documentElement;
  if (svg?.nodeName === 'svg') box.replaceChildren(document.importNode(svg, true));
  else box.replaceChildren();
  box.hidden = !box.firstChild;
}

/**
 * The enrolment, added to the login overlay `container`. `show()` starts one and resolves once
 * the codes were confirmed and the recovery codes acknowledged; `onLogout` is called when the
 * person signs out instead.
 */
export function createTotpEnrolment(container, { onLogout }) {
  const form = document.createElement('form');
  form.className = 'login-card';
  form.dataset.form = 'totp';
  form.hidden = true;
  form.innerHTML = FORM;
  container.appendChild(form);
  applyI18n(form);
  const msg = form.querySelector('.login-msg');
  const scan = form.querySelector('[data-step=scan]');
  const codes = form.querySelector('[data-step=codes]');
  let done = null;

  function say(key) {
    msg.dataset.i18n = key || '';
    msg.textContent = key ? t(key) : '';
    msg.className = 'login-msg error';
    msg.hidden = !key;
  }

  form.querySelector('[data-action=totp-logout]').addEventListener('click', () => {
    form.hidden = true;
    onLogout();
  });
  form.querySelector('[data-action=totp-done]').addEventListener('click', () => {
    form.hidden = true;
    done?.();
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const btn = scan.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const res = await confirmTotp(form.code.value.trim());
      const list = form.querySelector('[data-codes]');
      list.replaceChildren(...res.recovery_codes.map((c) => {
        const li = document.createElement('li');
        li.textContent = c;
        return li;
      }));
      scan.hidden = true;
      codes.hidden = false;
    } catch (err) {
      say(err.status === HTTP.BAD_REQUEST ? 'totp_wrong' : 'login_failed');
      form.code.select();
    } finally {
      btn.disabled = false;
    }
  });

  return {
    async show() {
      const started = await enrolTotp();
      form.secret.value = started.secret;
      form.querySelector('[data-otpauth]').href = started.otpauth_url;
      showQr(form.querySelector('[data-qr]'), started.qr_svg);
      scan.hidden = false;
      codes.hidden = true;
      form.code.value = '';
      say('');
      form.hidden = false;
      form.code.focus();
      return new Promise((resolve) => { done = resolve; });
    },
    hide() { form.hidden = true; },
  };
}
