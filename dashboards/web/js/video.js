// The camera player: a camera's live video from `GET /ws/video/{camera}` into a <video> element
// through Media Source Extensions, with no library. The hub sends a status frame, then
// {"type":"mse","mime"} and an init segment, then one fMP4 fragment per frame
// (docs/CONTRACT.md, "Cameras"); this appends them in order, keeps the picture at the live edge
// (a little behind it: plays slightly fast until caught up; far behind, as a tab in the
// background falls: jumps ahead, never plays old video), trims what is
// behind, and reconnects when the stream restarts, goes silent or the network drops (it gives up
// after MAX_FAILED_OPENS sockets refused at the upgrade: no session, no such camera).
//
// Bounds: fragments wait for the SourceBuffer in a queue of at most MAX_QUEUED; past it the
// browser cannot keep up, the queue is dropped and the socket reopened (the hub starts a new
// socket at a keyframe), and `onStatus` hears `{overloaded: true}` so a tile can fall back to
// snapshots.

const MAX_QUEUED = 90;
/** A socket that brings no frame for this long is reopened (ms). */
const SILENCE_MS = 8000;
/** Sockets that close before opening (401, 403, 404 at the upgrade) before the player gives up. */
const MAX_FAILED_OPENS = 5;
/** The furthest the picture may lag the newest frame before it jumps to the live edge (s). */
const MAX_LAG = 1.5;
/**
 * Past this lag the picture plays CATCH_UP_RATE fast until it is within AT_EDGE of the newest
 * frame (s): without it a player keeps whatever lag it started with (measured: 65 to 512 ms
 * from one start to the next), and the jump below leaves JUMP_TO behind.
 */
const CATCH_UP_LAG = 0.15;
const AT_EDGE = 0.08;
const CATCH_UP_RATE = 1.15;
/** Where a jump to the live edge lands, behind the newest frame (s). */
const JUMP_TO = 0.15;
/** Video kept behind the playhead (s). */
const KEEP_BEHIND = 10;
/** Close codes after which reconnecting is pointless: the session ended. */
const FINAL_CODES = new Set([4001]);

/**
 * Plays `camera` (its device key) in `video`. `stream`: 'main' or 'sub'. `onStatus(status)` gets
 * the camera's status frames (`state`, `error`, `fps`, …) and `{unsupported: mime}` when the
 * browser cannot play the codec (H.265 in most browsers). Returns `{stop()}`.
 */
export function playCamera(video, camera, { stream = 'main', onStatus = () => {} } = {}) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = stream === 'sub' ? '?stream=sub' : '';
  const url = `${scheme}//${location.host}/ws/video/${encodeURIComponent(camera)}${query}`;
  let ws = null;
  let source = null;
  let buffer = null;
  let queue = [];
  let stopped = false;
  let retries = 0;
  let failedOpens = 0;
  let retryTimer = null;
  let silenceTimer = null;

  video.muted = true;
  video.playsInline = true;

  function resetMedia() {
    queue = [];
    buffer = null;
    if (source) {
      URL.revokeObjectURL(video.src);
      source = null;
    }
  }

  function openMedia(mime) {
    if (!window.MediaSource || !MediaSource.isTypeSupported(mime)) {
      onStatus({ unsupported: mime });
      return false;
    }
    if (buffer && source?.readyState === 'open') {
      // new parameters: the same buffer takes the new init segment, once what came before it
      // is appended (pump applies the change in order)
      queue.push({ mime });
      pump();
      return true;
    }
    resetMedia();
    source = new MediaSource();
    const opened = source;
    opened.addEventListener('sourceopen', () => {
      if (source !== opened) return;
      buffer = opened.addSourceBuffer(mime);
      buffer.mode = 'segments';
      buffer.addEventListener('updateend', pump);
      pump();
    }, { once: true });
    video.src = URL.createObjectURL(opened);
    return true;
  }

  function keepLive() {
    const ranges = video.buffered;
    if (!ranges.length) return;
    const end = ranges.end(ranges.length - 1);
    const lag = end - video.currentTime;
    if (lag > MAX_LAG || video.currentTime < ranges.start(0)) {
      video.currentTime = Math.max(ranges.start(ranges.length - 1), end - JUMP_TO);
    } else if (lag > CATCH_UP_LAG) {
      video.playbackRate = CATCH_UP_RATE;
    } else if (lag < AT_EDGE) {
      video.playbackRate = 1;
    }
    if (video.paused) video.play().catch(() => {});
  }

  function pump() {
    if (!buffer || buffer.updating) return;
    const ranges = video.buffered;
    if (ranges.length && video.currentTime - ranges.start(0) > KEEP_BEHIND * 2) {
      buffer.remove(0, video.currentTime - KEEP_BEHIND);
      return; // continues at updateend
    }
    const next = queue.shift();
    if (next) {
      try {
        if (next.mime) {
          buffer.changeType(next.mime);
          pump();
          return;
        }
        buffer.appendBuffer(next);
      } catch (e) {
        // QuotaExceededError and the like: start over at a keyframe
        reconnect(`append failed: ${e.name}`);
        return;
      }
    }
    keepLive();
  }

  function watchSilence() {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(() => reconnect('no video for a while'), SILENCE_MS);
  }

  /** Closes the socket without its close handler (which would reconnect) and drops the media. */
  function drop() {
    clearTimeout(silenceTimer);
    if (ws) {
      ws.onclose = null;
      ws.close();
      ws = null;
    }
    resetMedia();
  }

  function reconnect(why) {
    if (stopped) return;
    drop();
    const wait = Math.min(10000, 500 * 2 ** retries++);
    onStatus({ reconnecting: true, why, retryInMs: wait });
    retryTimer = setTimeout(connect, wait);
  }

  function connect() {
    if (stopped) return;
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    let opened = false;
    ws.onopen = () => {
      opened = true;
      failedOpens = 0;
      watchSilence();
    };
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') {
        let msg;
        try {
          msg = JSON.parse(event.data);
        } catch {
          return;
        }
        if (msg.type === 'mse') {
          if (!openMedia(msg.mime)) {
            stop();
          }
        } else if (msg.type === 'status') {
          onStatus(msg);
        }
        return;
      }
      retries = 0;
      watchSilence();
      if (queue.length >= MAX_QUEUED) {
        onStatus({ overloaded: true });
        reconnect('the browser fell behind');
        return;
      }
      queue.push(event.data);
      pump();
    };
    ws.onclose = (event) => {
      ws = null;
      clearTimeout(silenceTimer);
      if (!opened) failedOpens += 1;
      if (FINAL_CODES.has(event.code) || failedOpens >= MAX_FAILED_OPENS) {
        onStatus({ ended: event.reason || 'the video cannot be opened' });
        return;
      }
      reconnect(event.reason || `closed (${event.code})`);
    };
  }

  function stop() {
    stopped = true;
    clearTimeout(retryTimer);
    drop();
    video.removeAttribute('src');
    video.load();
  }

  connect();
  return { stop };
}
