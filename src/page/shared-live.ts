import { HiddenPause, Live, type LiveOptions, type LiveState } from './live.js';

/**
 * One live connection for all the tabs of the page that hold the same token, in one browser.
 *
 * Browsers give a server 6 HTTP/1.1 connections for all tabs together. With one SSE stream per
 * tab, past 5 visible tabs the streams held them all: no tab's `/health` probe or subscription got
 * through, each took the silence for an outage and started over, and all read "Offline" while the
 * server was fine. Now one tab of a group, its leader, holds the stream, and tells the others (its
 * followers) what it hears over a BroadcastChannel: the data, the live state, a refused token.
 *
 * - Leader: whoever holds the group's Web Lock. The browser releases it when the tab closes or
 *   crashes, and hands it to the next tab waiting for it, which connects: followers keep saying
 *   "Live" for that moment, and refetch once the new leader's subscriptions are accepted (as after
 *   any reconnect), so nothing that changed in between stays missed.
 * - Group: the page's origin (locks and channels are per origin) and two names derived from the
 *   token by a slow KDF (one names the lock, another the channel: `groupNames`). Tabs with another
 *   token, or none, and other pages of the origin, are not in it: they never hear what this token
 *   may read, nor its refusal, and cannot post to it. The token itself is never posted.
 * - Hidden: a tab hidden for HIDDEN_PAUSE_MS leaves its group (it says "Paused") and joins again
 *   when shown, refetching. A leader leaving hands the lock to the next visible tab of its group,
 *   so the stream is held while any tab of the group is in use, and by none when all are hidden.
 * - Queries stay each tab's own (they are short requests); only the stream is shared.
 */

/** What a leader posts to its group. */
type Message =
  /** A follower that just joined asks for the live state. */
  | { kind: 'hello' }
  /** `opened` names the leader's acceptance of the subscriptions the state is from (open only): a new one means refetch. */
  | { kind: 'state'; state: LiveState; opened: string | null }
  | { kind: 'data'; index: number; data: unknown }
  | { kind: 'unauthorized'; message: string }
  /** The leader still runs (it posts this every LEADER_BEAT_MS): a follower's watchdog. */
  | { kind: 'beat' };

/** Web Locks and BroadcastChannel (and SubtleCrypto's PBKDF2 and SHA-256 for the group's names) exist: in secure contexts of current browsers. */
export function canShare(): boolean {
  return (
    typeof BroadcastChannel === 'function' &&
    typeof navigator !== 'undefined' &&
    typeof navigator.locks?.request === 'function' &&
    typeof crypto.subtle?.digest === 'function' &&
    typeof crypto.subtle?.deriveBits === 'function'
  );
}

/**
 * PBKDF2-SHA-256 rounds for the group's names: OWASP's figure for passwords, since a token may be
 * one chosen by hand (CONTROL_PLANE_TOKEN, a hand-written admin.token). About 80 ms once per token
 * per tab in headless Chromium on a 2-core machine (README: The operator page, Many tabs).
 */
export const GROUP_KDF_ITERATIONS = 600_000;

/**
 * The group's lock name and channel name, from the token, never the same: any page of the origin
 * can list the lock names (`navigator.locks.query()`), and the channel's name is all it takes to
 * hear a group's news and to post it forged ones (a token "refused", another active strategy). A
 * plain SHA-256 of the token as the lock name let such a script test guesses offline at the speed
 * of SHA-256 (billions a second on a GPU): a hand-chosen token fell to a dictionary. Both names now
 * come from one PBKDF2 key (GROUP_KDF_ITERATIONS rounds, salted with the page's origin, so one
 * deployment's guesses serve no other), each a digest of it: a guess costs the rounds, and the
 * channel's name is computable only from the key, never from the lock's. Tabs with no token have
 * no secret to name theirs by: their group's news is what anyone may read, and a script of the
 * origin can post to it (README: The operator page, Many tabs).
 */
async function groupNames(token: string | null): Promise<{ lock: string; channel: string }> {
  if (token === null) return { lock: 'strategy-control-plane.live.anonymous', channel: 'strategy-control-plane.live.anonymous' };
  const encode = (text: string) => new TextEncoder().encode(text);
  const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
  const secret = await crypto.subtle.importKey('raw', encode(token), 'PBKDF2', false, ['deriveBits']);
  const salt = encode(`strategy-control-plane.live\n${location.origin}`);
  const key = hex(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: GROUP_KDF_ITERATIONS }, secret, 256));
  const digest = async (purpose: string) =>
    hex(await crypto.subtle.digest('SHA-256', encode(`strategy-control-plane.live.${purpose}\n${key}`)));
  const [lock, channel] = await Promise.all([digest('lock'), digest('channel')]);
  return { lock: `strategy-control-plane.live.${lock}`, channel: `strategy-control-plane.live.channel.${channel}` };
}

/** The names of the last token joined with: a tab joins again on every show, restart and reconnect of its group, and pays the rounds once. */
let lastNames: { token: string | null; names: Promise<{ lock: string; channel: string }> } | null = null;
function cachedGroupNames(token: string | null): Promise<{ lock: string; channel: string }> {
  if (lastNames?.token !== token) {
    const names = groupNames(token);
    lastNames = { token, names };
    // A failure is not kept: the next join tries again.
    names.catch(() => {
      if (lastNames?.names === names) lastNames = null;
    });
  }
  return (lastNames as { names: Promise<{ lock: string; channel: string }> }).names;
}

/** A random name for one acceptance of the subscriptions. */
function openingId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
}

interface Membership {
  channel: BroadcastChannel;
  /** Leaves the lock's queue, or lets the lock go once held. */
  leave: () => void;
  /** Takes the lock from a leader gone silent (out of the queue, `steal`). */
  steal: () => void;
  /** The stream, while this tab leads. */
  live: Live | null;
  /** The server refused the token this group is named after (told to the group as this tab led it). */
  refused: boolean;
}

/**
 * How long a leader whose token was refused keeps the lock after telling its group. The news takes
 * milliseconds, but not on a starved machine: at 1 s, a follower was granted the lock before it had
 * heard the news and opened a stream with the refused token (CI on 89bba2e, the browser test of
 * tabs with different tokens: 5 streams, not 4). The hold costs nothing seen: only the refused
 * token's own tabs queue for this lock, and they leave it on the news.
 */
const REFUSED_HOLD_MS = 5_000;

/** A leader says it still runs this often, news or not... */
export const LEADER_BEAT_MS = 2_000;
/**
 * ...and a follower that hears nothing from it this long asks it, and with no answer a beat (and
 * up to a beat more, at random) later takes the lock from it (`takeOver`). A leader stopped
 * without closing and without `freeze` (a debugger paused in it, a long task, a starved machine)
 * keeps the lock: its followers said "Live" for as long as it lasted, over data nobody was
 * updating. Four beats missed: a loaded machine delays a beat, it does not lose four.
 */
export const LEADER_SILENT_MS = 8_000;

export class SharedLive {
  private state: LiveState = { kind: 'connecting' };
  /** The acceptance this tab last refetched for (its own, or its leader's). */
  private opened: string | null = null;
  private everOpen = false;
  private member: Membership | null = null;
  /** Bumped on every join and leave: a lock granted, or a digest computed, for an older one is not acted on. */
  private generation = 0;
  /** As Live: hidden HIDDEN_PAUSE_MS, the tab leaves its group; shown, it joins again. */
  private readonly hiddenPause = new HiddenPause(
    () => this.state.kind,
    () => this.pause(),
    () => {
      // "Paused" no longer holds: until the group's leader answers (or this tab leads), it is connecting.
      this.tell({ kind: 'connecting' });
      void this.join();
    },
  );
  /** A follower's watchdog: fires when its leader has said nothing for LEADER_SILENT_MS. */
  private silenceTimer: ReturnType<typeof setTimeout> | null = null;
  /** The follower said its leader went silent: the next word from it asks for the live state again. */
  private leaderSilent = false;
  /** Left its group as the page froze (`freeze`): joins again on `resume`. */
  private frozen = false;

  constructor(private readonly options: LiveOptions) {}

  start(): void {
    document.addEventListener('visibilitychange', () => this.hiddenPause.visibilityChanged());
    // A page kept in the back/forward cache runs nothing, yet kept the lock: a leader navigated
    // away held its group's stream with no one relaying it, and no other tab could take it over
    // (until the browser evicted the page, minutes later). It leaves as it is put away, and joins
    // again (refetching, as after any reconnect) when it is shown from the cache.
    addEventListener('pagehide', (event) => {
      if (event.persisted) this.pause();
    });
    addEventListener('pageshow', (event) => {
      if (event.persisted) this.restart();
    });
    // A page the browser freezes (Chrome, a background tab it puts to rest; the page lifecycle's
    // `freeze`) runs nothing until `resume`, yet kept the lock: its group heard nothing, and no
    // tab could lead until it thawed or closed. It leaves as it freezes (a follower too: a queued
    // request granted to a frozen tab would be held by no one) and joins again, refetching, on
    // `resume`. A page stopped without the event (a debugger) is its followers' watchdog's.
    document.addEventListener('freeze', () => {
      this.frozen = true;
      this.pause();
    });
    document.addEventListener('resume', () => {
      if (!this.frozen) return;
      this.frozen = false;
      this.restart();
    });
    // A tab opened in the background joins once it is first shown.
    if (document.hidden) this.pause();
    else void this.join();
  }

  /** Starts over with the current token: the old group is left (its stream, if this tab led, ends), the token's joined. */
  restart(): void {
    this.leave();
    this.opened = null;
    if (document.hidden) this.pause();
    else {
      this.tell({ kind: 'connecting' });
      void this.join();
    }
  }

  private pause(): void {
    this.hiddenPause.cancel();
    this.leave();
    this.opened = null;
    this.tell({ kind: 'paused' });
  }

  private async join(): Promise<void> {
    this.leave();
    const generation = this.generation;
    // A digest that fails (it should not) leaves this tab a group of its own: live, not shared.
    const names = await cachedGroupNames(this.options.token()).catch(() => {
      const own = `strategy-control-plane.live.tab-${openingId()}`;
      return { lock: own, channel: own };
    });
    if (generation !== this.generation) return;
    const channel = new BroadcastChannel(names.channel);
    const queued = new AbortController();
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const granted = () => {
      if (generation !== this.generation) return; // left meanwhile: let it go at once
      this.lead(member);
      return held;
    };
    // Rejected: aborted while queued (this tab left the group), or stolen while held (this tab
    // led, stopped unheard, and another took over): it then follows whoever leads now.
    const lost = () => {
      if (member === this.member && member.live) this.restart();
    };
    const member: Membership = {
      channel,
      live: null,
      refused: false,
      leave: () => {
        queued.abort();
        release();
      },
      steal: () => {
        queued.abort();
        navigator.locks.request(names.lock, { steal: true }, granted).catch(lost);
      },
    };
    this.member = member;
    channel.onmessage = (event: MessageEvent<Message>) => this.heard(member, event.data);
    navigator.locks.request(names.lock, { signal: queued.signal }, granted).catch(lost);
    // A leader answers with its state; none answers when this tab is the first (it is granted the lock).
    channel.postMessage({ kind: 'hello' } satisfies Message);
    this.watchLeader(member);
  }

  /**
   * (Re)starts the follower's watchdog: after LEADER_SILENT_MS of silence it asks the leader, and
   * only if that goes unanswered one beat more (and up to one more at random, so that of many
   * followers one takes over and the others hear it first) does it take over (`takeOver`). A clock
   * that jumps (a laptop waking up) fires the watchdog before the beats queued meanwhile are heard:
   * acted on at once, every follower took the lock from a leader that was fine.
   */
  private watchLeader(member: Membership): void {
    this.stopWatching();
    const still = () => member === this.member && !member.live;
    this.silenceTimer = setTimeout(() => {
      if (!still()) return;
      member.channel.postMessage({ kind: 'hello' } satisfies Message);
      this.silenceTimer = setTimeout(
        () => {
          this.silenceTimer = null;
          if (still()) this.takeOver(member);
        },
        LEADER_BEAT_MS * (1 + Math.random()),
      );
    }, LEADER_SILENT_MS);
  }

  private stopWatching(): void {
    if (this.silenceTimer !== null) clearTimeout(this.silenceTimer);
    this.silenceTimer = null;
  }

  /**
   * The group's lock is held by a tab that no longer speaks (stopped unheard: a debugger, a long
   * task): before, its followers said "Live" over data nobody was updating, then that it may be out
   * of date, until it ran again or closed. Now this follower takes the lock from it (`steal`) and
   * leads, as after any handover: its group keeps "Live" and refetches once its subscriptions are
   * accepted. The tab stolen from learns it as it runs again (its request for the lock is
   * rejected) and follows; what it posted before that (news it held while stopped, a "no answer"
   * of its own) is answered by the new leader with its state afresh, refetched by every follower
   * (`lead`). A second stream, the stopped tab's, stays open meanwhile: two of the browser's 6.
   * Why `steal`, not a stream of each follower's own until the leader is heard again: that is one
   * stream per follower (past 5 tabs, the starvation the sharing ended), and the lock stays the one
   * word on who leads.
   */
  private takeOver(member: Membership): void {
    this.leaderSilent = true;
    member.steal();
  }

  private leave(): void {
    this.generation++;
    this.stopWatching();
    this.leaderSilent = false;
    const member = this.member;
    this.member = null;
    if (!member) return;
    const refused = member.refused;
    member.live?.stop();
    member.live = null;
    member.channel.close();
    // A leader leaving because the server refused its token keeps the lock a moment: the next
    // tab of that token waiting for it would take it and try the refused token once more (one
    // more failed attempt against the server's limit) if the lock reached it before the news.
    if (refused) setTimeout(member.leave, REFUSED_HOLD_MS);
    else member.leave();
  }

  /** This tab holds the lock: it opens the stream, and posts everything it hears to the group. */
  private lead(member: Membership): void {
    this.stopWatching();
    this.leaderSilent = false;
    const post = (message: Message) => member.channel.postMessage(message);
    // Its followers' watchdog: a leader frozen stops beating (and a stopped one is left: `stop`).
    const beat = setInterval(() => {
      if (member.live) post({ kind: 'beat' });
      else clearInterval(beat);
    }, LEADER_BEAT_MS);
    let opened: string | null = null;
    const live = new Live({
      ...this.options,
      pausesWhenHidden: false,
      subscriptions: this.options.subscriptions.map((subscription, index) => ({
        document: subscription.document,
        onData: (data: unknown) => {
          post({ kind: 'data', index, data });
          subscription.onData(data);
        },
      })),
      onState: (state) => {
        opened = state.kind === 'open' ? opened : null;
        if (state.kind !== 'open') post({ kind: 'state', state, opened: null });
        this.show(state, null);
      },
      // Live says open (onState) just before onOpen: the acceptance is named here, where it is told.
      onOpen: () => {
        opened = openingId();
        post({ kind: 'state', state: { kind: 'open' }, opened });
        this.show({ kind: 'open' }, opened);
      },
      onUnauthorized: (message) => {
        // Before this tab leaves (dropping the token starts it over): only this token's tabs hear it.
        post({ kind: 'unauthorized', message });
        member.refused = true;
        this.options.onUnauthorized(message);
      },
    });
    member.live = live;
    // A follower that joins later asks; the leader answers with what it holds now. Another voice
    // of a leader is a tab whose lock was taken while it was stopped (or one that took this tab's):
    // the followers may have heard stale news from it, so the state is told afresh, with a new
    // acceptance when open, and every follower refetches. The tab stolen from soon learns it and
    // stops speaking.
    // Told at most once a beat: two leaders answering each other's answers would never stop.
    let toldAfresh = Number.NEGATIVE_INFINITY;
    member.channel.onmessage = (event: MessageEvent<Message>) => {
      if (event.data.kind === 'hello') post({ kind: 'state', state: this.state, opened: this.state.kind === 'open' ? opened : null });
      else if (performance.now() - toldAfresh >= LEADER_BEAT_MS) {
        toldAfresh = performance.now();
        if (this.state.kind === 'open') opened = openingId();
        post({ kind: 'state', state: this.state, opened: this.state.kind === 'open' ? opened : null });
      }
    };
    live.start();
  }

  /** A follower hears its leader. */
  private heard(member: Membership, message: Message): void {
    if (member !== this.member || member.live || message.kind === 'hello') return;
    // Any word from the leader: it runs.
    this.watchLeader(member);
    if (this.leaderSilent) {
      // Back from a silence: what it holds now is asked for (its answer refetches, as after a reconnect).
      this.leaderSilent = false;
      member.channel.postMessage({ kind: 'hello' } satisfies Message);
    }
    switch (message.kind) {
      case 'state':
        this.show(message.state, message.opened);
        break;
      case 'data':
        this.options.subscriptions[message.index]?.onData(message.data);
        break;
      case 'unauthorized':
        if (this.options.token()) this.options.onUnauthorized(message.message);
        break;
      case 'beat':
        break;
    }
  }

  /**
   * The group's live state, as this tab shows it. A new leader starts by connecting: its group
   * keeps saying "Live" meanwhile (a handover is not an outage), and refetches when the new
   * leader's subscriptions are accepted (`opened`, a name not refetched for yet).
   */
  private show(state: LiveState, opened: string | null): void {
    if (state.kind === 'open') {
      if (opened === null || opened === this.opened) return;
      this.opened = opened;
      const reopened = this.everOpen;
      this.everOpen = true;
      this.tell(state);
      this.options.onOpen(reopened);
      return;
    }
    if (state.kind === 'connecting' && this.state.kind === 'open') return;
    this.opened = null;
    this.tell(state);
  }

  private tell(state: LiveState): void {
    this.state = state;
    this.options.onState(state);
  }
}

/** The page's live connection: shared by its tabs where the browser can, one per tab where it cannot (a plain-http LAN address, an old browser). */
export function createLive(options: LiveOptions): { start(): void; restart(): void } {
  return canShare() ? new SharedLive(options) : new Live(options);
}
