// The app's one event system: a small emitter that names the events it carries, so that a typo in
// on() or emit() throws at once instead of never firing. The store is one (its live-data events);
// appEvents carries what concerns the whole page: the language, the connection, the session.
// Listeners run synchronously, in the order they subscribed.

export class Emitter {
  #listeners = new Map();

  /** @param {string[]} names the events this emitter carries */
  constructor(names) {
    for (const name of names) this.#listeners.set(name, new Set());
  }

  /** Subscribes fn to an event; returns the function that unsubscribes it. */
  on(name, fn) {
    const set = this.#set(name);
    set.add(fn);
    return () => set.delete(fn);
  }

  emit(name, arg) {
    for (const fn of this.#set(name)) fn(arg);
  }

  /** Does anything listen to this event? */
  listened(name) {
    return this.#set(name).size > 0;
  }

  #set(name) {
    const set = this.#listeners.get(name);
    if (!set) throw new Error(`no event ${JSON.stringify(name)} here`);
    return set;
  }
}

/**
 * The page's events:
 * - langchange (lang: 'vi' | 'en'): after the static labels changed; views re-render;
 * - connectionchange (down: boolean): the hub became unreachable, or reachable again;
 * - sessionexpired: a request or the live feed found the session gone; the login comes back;
 * - session (me: GET /api/v1/auth/me, or null): someone logged in; views offer what the role may.
 */
export const appEvents = new Emitter(['langchange', 'connectionchange', 'sessionexpired', 'session']);
