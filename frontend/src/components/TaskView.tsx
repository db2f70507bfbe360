import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, describeError, fieldMessages, type Assignment, type Campaign, type SubmitWithNext } from '../api';
import {
  clearDraft,
  emptyDraft,
  hasWork,
  listDrafts,
  loadDraft,
  newIdempotencyKey,
  restoreDraft,
  saveDraft,
  type Draft,
  type PendingSubmit,
} from '../draft';
import { PAIR_SHORTCUTS, SHORTCUTS, resolveShortcut, type Action } from '../keyboard';
import { linkClick } from '../router';
import {
  PAIR_SIDES,
  buildPairSubmitBody,
  buildSubmitBody,
  validateDraft,
  validatePairDraft,
  type DimensionErrors,
} from '../rules';
import { DimensionRater } from './DimensionRater';
import { PairChooser } from './PairChooser';
import { PairPlayers, type PairPlayersHandle } from './PairPlayers';
import { actOnPlayer } from './playerActions';
import { GuidelinesDrawer } from './GuidelinesDrawer';
import { LeaseTimer } from './LeaseTimer';
import { SkipDialog } from './SkipDialog';
import { SubmitStatus } from './SubmitStatus';
import { EmptyScreen, LeaseLostScreen, TaskErrorScreen } from './TaskScreens';
import { useLeaseHeartbeat } from './useLeaseHeartbeat';
import { useSubmission } from './useSubmission';
import { VideoPlayer, type VideoPlayerHandle } from './VideoPlayer';

type Phase =
  | { kind: 'loading' }
  | { kind: 'task' }
  | { kind: 'empty' }
  | { kind: 'leaseLost'; message: string; notes: Draft | null }
  | { kind: 'error'; message: string };

interface Props {
  campaignId: number;
  /** Back-off of the submit retry (tests shorten it). */
  retryDelays?: { baseDelayMs: number; maxDelayMs: number };
}

function cssEscape(s: string): string {
  const css = (globalThis as { CSS?: { escape?: (x: string) => string } }).CSS;
  return css?.escape ? css.escape(s) : s.replace(/["\\]/g, '\\$&');
}

export function TaskView({ campaignId, retryDelays }: Props) {
  const [campaign, setCampaign] = useState<Campaign | null>(null);
  const [assignment, setAssignment] = useState<Assignment | null>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<Record<string, DimensionErrors>>({});
  const [formMessage, setFormMessage] = useState<string | null>(null);
  const [focusedDim, setFocusedDim] = useState(0);
  const [guidelinesOpen, setGuidelinesOpen] = useState(false);
  const [skipOpen, setSkipOpen] = useState(false);
  const [expiresAt, setExpiresAt] = useState(0);
  const [expired, setExpired] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const player = useRef<VideoPlayerHandle>(null);
  const pairPlayer = useRef<PairPlayersHandle>(null);
  // A pair of videos to compare (pairwise campaign) or one video to rate: the same drafts, submit, lease and
  // keys; the chosen side is kept where a rating keeps its level.
  const pairTask = !!assignment?.pair;
  const optionsOf = useCallback(
    (dim: Campaign['schema']['dimensions'][number]): string[] =>
      pairTask ? PAIR_SIDES.map((s) => s.value) : dim.levels.map((l) => l.value),
    [pairTask],
  );
  const ratingsRef = useRef<HTMLDivElement>(null);
  const draftRef = useRef<Draft | null>(null);
  const mounted = useRef(true);
  const { submitState, setSubmitState, send, abort } = useSubmission(mounted, retryDelays);

  draftRef.current = draft;
  const busy = submitState.kind === 'saving' || submitState.kind === 'retrying';
  // While a submit is in flight or the next task loads, the form is read-only.
  const locked = busy || phase.kind !== 'task';
  const busyRef = useRef(locked);
  busyRef.current = locked;
  const { timeSpent, restart: restartLeaseClock } = useLeaseHeartbeat({
    active: phase.kind === 'task',
    assignment,
    expiresAt,
    expired,
    mounted,
    onExtended: setExpiresAt,
    onLost: (message) => {
      if (!busyRef.current) setPhase({ kind: 'leaseLost', message, notes: draftRef.current });
    },
  });
  const guidelinesButton = useRef<HTMLButtonElement>(null);
  const closeGuidelines = useCallback(() => {
    setGuidelinesOpen(false);
    guidelinesButton.current?.focus();
  }, []);

  // ---- drafts: saved as typed --------------------------------------------------------------
  const updateDraft = useCallback((fn: (d: Draft) => Draft) => {
    if (busyRef.current) return;
    setDraft((d) => {
      if (!d) return d;
      const next = { ...fn(d), timeSpentMs: timeSpent.current };
      saveDraft(next);
      return next;
    });
    setSubmitState((s) => (s.kind === 'saved' || s.kind === 'failed' ? { kind: 'idle' } : s));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // ---- submit ------------------------------------------------------------------------------
  const runSubmit = useCallback(
    async (a: Assignment, c: Campaign, pending: PendingSubmit) => {
      setFormMessage(null);
      // One round trip: the answer carries the next lease, so the next video shows without a next-task call.
      let result: SubmitWithNext | null = null;
      const outcome = await send(async () => {
        result = await api.submitAndNext(a.id, pending.body, pending.key);
      });
      if (outcome.kind === 'saved') {
        clearDraft(a.id);
        if (!outcome.live) return;
        setNotice('Saved. Here is the next task.');
        const r = result as SubmitWithNext | null;
        if (r?.next_state === 'leased' && r.next?.state === 'leased') showTask(c, r.next, a.id);
        else if (r?.next_state === 'nothing_left') showTask(c, null, a.id);
        // A paused campaign, a replay whose next lease has closed since, or a server without the option:
        // next-task answers (and explains) as before.
        else void loadTask(c, a.id);
        return;
      }
      if (outcome.kind === 'stopped') return;
      const err = outcome.error;
      if (err instanceof ApiError && err.isAuth) {
        // Signed out: keep the draft and its key; the app goes to sign-in and we resume after.
        return;
      }
      // Any other 4xx is final: drop the key so a corrected submit is a new request.
      const d = draftRef.current;
      const cleared = d ? { ...d, pending: null } : null;
      if (cleared) {
        saveDraft(cleared);
        setDraft(cleared);
      }
      if (err instanceof ApiError && err.status === 409) {
        setPhase({
          kind: 'leaseLost',
          message: err.detail || 'This task is no longer assigned to you.',
          notes: cleared,
        });
        return;
      }
      if (err instanceof ApiError && err.status === 400) applyFieldErrors(c, err);
      setFormMessage(describeError(err));
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [],
  );

  function applyFieldErrors(c: Campaign, err: ApiError) {
    const msgs = fieldMessages(err.fields);
    const next: Record<string, DimensionErrors> = {};
    for (const [path, msg] of Object.entries(msgs)) {
      const dim = c.schema.dimensions.find((d) => path.split('.').includes(d.key));
      if (!dim) continue;
      const e = (next[dim.key] ??= {});
      if (path.includes('rationale')) e.rationale = msg;
      else e.rating = msg;
    }
    setErrors(next);
  }

  // ---- loading a task ------------------------------------------------------------------------
  const loadTask = useCallback(async (c: Campaign | null, previousId?: number) => {
    setPhase({ kind: 'loading' });
    setExpired(false);
    setErrors({});
    setFormMessage(null);
    setSkipOpen(false);
    try {
      const camp = c ?? (await api.campaign(campaignId));
      if (!mounted.current) return;
      setCampaign(camp);
      const a = await api.nextTask(campaignId);
      if (!mounted.current) return;
      showTask(camp, a, previousId);
    } catch (err) {
      if (!mounted.current) return;
      if (err instanceof ApiError && err.isAuth) return; // the app shows sign-in
      setPhase({ kind: 'error', message: describeError(err) });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [campaignId]);

  /** Shows a leased task (or the empty state for null), from next-task or from a submit's answer. */
  function showTask(camp: Campaign, a: Assignment | null, previousId?: number) {
    if (previousId !== undefined && (!a || a.id !== previousId)) {
      const old = loadDraft(previousId);
      if (old && !old.pending) clearDraft(previousId);
    }
    setExpired(false);
    setErrors({});
    setSkipOpen(false);
    if (!a) {
      setAssignment(null);
      setDraft(null);
      setPhase({ kind: 'empty' });
      return;
    }
    const keys = camp.schema.dimensions.map((d) => d.key);
    const d = restoreDraft(loadDraft(a.id), emptyDraft(a.id, camp.id, keys));
    restartLeaseClock(d.timeSpentMs);
    setAssignment(a);
    setExpiresAt(Date.parse(a.expires_at));
    setDraft(d);
    setFocusedDim(0);
    setSubmitState((s) => (s.kind === 'saved' ? s : { kind: 'idle' }));
    setPhase({ kind: 'task' });
    if (d.pending) void runSubmit(a, camp, d.pending);
    void flushOrphans(camp.id, a.id);
  }

  /** Submits left pending by an earlier session for other assignments: one quiet try each. */
  async function flushOrphans(cid: number, currentId: number) {
    for (const d of listDrafts()) {
      if (d.campaignId !== cid || d.assignmentId === currentId || !d.pending) continue;
      try {
        await api.submit(d.assignmentId, d.pending.body, d.pending.key);
        clearDraft(d.assignmentId);
      } catch (err) {
        if (err instanceof ApiError && !err.isServer && !err.isAuth) {
          clearDraft(d.assignmentId);
          if (mounted.current)
            setNotice(`An earlier submission (task ${d.assignmentId}) could not be saved: ${err.detail}`);
        }
      }
    }
  }

  useEffect(() => {
    mounted.current = true;
    void loadTask(null);
    return () => {
      mounted.current = false;
      abort();
    };
  }, [loadTask, abort]);

  // ---- leaving the page ------------------------------------------------------------------------
  useEffect(() => {
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      const d = draftRef.current;
      if (d) saveDraft({ ...d, timeSpentMs: timeSpent.current });
      if (hasWork(d)) {
        e.preventDefault();
        e.returnValue = '';
      }
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, []);

  // ---- actions -------------------------------------------------------------------------------
  const focusDimension = useCallback(
    (i: number) => {
      if (!campaign) return;
      const n = campaign.schema.dimensions.length;
      const idx = Math.max(0, Math.min(n - 1, i));
      setFocusedDim(idx);
      const key = campaign.schema.dimensions[idx].key;
      const el = ratingsRef.current?.querySelector<HTMLElement>(
        `[data-testid="dimension-${cssEscape(key)}"] [role="radio"][tabindex="0"]`,
      );
      el?.focus();
    },
    [campaign],
  );

  const rate = useCallback(
    (dimIndex: number, levelValue: string) => {
      if (!campaign || busyRef.current) return;
      const dim = campaign.schema.dimensions[dimIndex];
      if (!dim) return;
      updateDraft((d) => ({
        ...d,
        ratings: { ...d.ratings, [dim.key]: { ...d.ratings[dim.key], rating: levelValue } },
      }));
      setErrors((e) => (e[dim.key]?.rating ? { ...e, [dim.key]: { ...e[dim.key], rating: undefined } } : e));
    },
    [campaign, updateDraft],
  );

  const setRationale = useCallback(
    (key: string, text: string) => {
      updateDraft((d) => ({ ...d, ratings: { ...d.ratings, [key]: { ...d.ratings[key], rationale: text } } }));
      setErrors((e) => (e[key]?.rationale ? { ...e, [key]: { ...e[key], rationale: undefined } } : e));
    },
    [updateDraft],
  );

  const submit = useCallback(() => {
    const d = draftRef.current;
    if (!campaign || !assignment || !d || busyRef.current || phase.kind !== 'task') return;
    if (expired) {
      setFormMessage('The lease has expired: this task can no longer be submitted.');
      return;
    }
    const errs = pairTask ? validatePairDraft(campaign, d) : validateDraft(campaign, d);
    setErrors(errs);
    const firstBad = campaign.schema.dimensions.findIndex((dim) => errs[dim.key]);
    if (firstBad >= 0) {
      const dim = campaign.schema.dimensions[firstBad];
      setFormMessage(
        pairTask
          ? 'Some choices or reasons are missing; they are marked below.'
          : 'Some ratings or reasons are missing; they are marked below.',
      );
      if (errs[dim.key].rating) focusDimension(firstBad);
      else {
        setFocusedDim(firstBad);
        document.getElementById(`rationale-${dim.key}`)?.focus();
      }
      return;
    }
    const pending: PendingSubmit = d.pending ?? {
      key: newIdempotencyKey(),
      body: pairTask ? buildPairSubmitBody(campaign, d, timeSpent.current) : buildSubmitBody(campaign, d, timeSpent.current),
    };
    const withKey = { ...d, pending, timeSpentMs: timeSpent.current };
    saveDraft(withKey); // the key is stored before the first byte is sent
    setDraft(withKey);
    void runSubmit(assignment, campaign, pending);
  }, [campaign, assignment, pairTask, phase.kind, expired, focusDimension, runSubmit]);

  const skip = useCallback(
    async (reason: string): Promise<string | null> => {
      if (!assignment || !campaign) return null;
      try {
        await api.skip(assignment.id, reason);
        clearDraft(assignment.id);
        setNotice('Skipped. Here is the next task.');
        void loadTask(campaign);
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) {
          setPhase({ kind: 'leaseLost', message: err.detail, notes: draftRef.current });
        } else if (!(err instanceof ApiError && err.isAuth)) return describeError(err);
      }
      return null;
    },
    [assignment, campaign, loadTask],
  );

  // ---- keyboard --------------------------------------------------------------------------------
  const act = useCallback(
    (action: Action, target: EventTarget | null): boolean => {
      if (!campaign) return false;
      const inSkip = target instanceof Element && !!target.closest('[data-shortcuts="off"]');
      const played = actOnPlayer(action, player.current, pairPlayer.current);
      if (played !== null) return played;
      switch (action.type) {
        case 'submit':
          if (inSkip) return false;
          submit();
          return true;
        case 'leaveField':
        case 'closeOverlay':
          if (guidelinesOpen) {
            closeGuidelines();
            return true;
          }
          if (skipOpen) {
            setSkipOpen(false);
            return true;
          }
          if (action.type === 'leaveField') {
            focusDimension(focusedDim);
            return true;
          }
          return false;
        case 'toggleGuidelines':
          setGuidelinesOpen((o) => !o);
          return true;
        case 'rate': {
          const dim = campaign.schema.dimensions[focusedDim];
          const level = dim ? optionsOf(dim)[action.level] : undefined;
          if (!level) return false;
          // From nowhere (page body), a digit also puts focus on the dimension it rates, so Tab
          // leads on to its reason box.
          if (!target || target === document.body) focusDimension(focusedDim);
          rate(focusedDim, level);
          return true;
        }
        case 'moveDimension':
          focusDimension(focusedDim + action.delta);
          return true;
        case 'moveLevel': {
          const dim = campaign.schema.dimensions[focusedDim];
          if (!dim) return false;
          const options = optionsOf(dim);
          const cur = options.indexOf(draftRef.current?.ratings[dim.key]?.rating ?? '');
          const n = options.length;
          const next = cur < 0 ? (action.delta > 0 ? 0 : n - 1) : (cur + action.delta + n) % n;
          // Focus follows the checked radio in DimensionRater (synchronously: a deferred focus here
          // once pulled it back out of the reason box the person had already tabbed into).
          rate(focusedDim, options[next]);
          return true;
        }
        default:
          return false; // the player's actions were handled above
      }
    },
    [campaign, submit, guidelinesOpen, closeGuidelines, skipOpen, focusDimension, focusedDim, rate, optionsOf],
  );

  useEffect(() => {
    if (phase.kind !== 'task') return;
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented) return;
      const action = resolveShortcut(e);
      if (!action) return;
      if (guidelinesOpen && !['closeOverlay', 'leaveField', 'toggleGuidelines'].includes(action.type)) return;
      if (act(action, e.target)) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [phase.kind, act, guidelinesOpen]);

  // ---- rendering -----------------------------------------------------------------------------
  if (phase.kind === 'loading' && !campaign)
    return (
      <p className="page-message" role="status">
        Loading…
      </p>
    );

  if (phase.kind === 'error')
    return <TaskErrorScreen message={phase.message} onRetry={() => void loadTask(campaign)} />;
  if (phase.kind === 'empty')
    return <EmptyScreen campaignName={campaign?.name ?? ''} notice={notice} onCheckAgain={() => void loadTask(campaign)} />;
  if (phase.kind === 'leaseLost')
    return (
      <LeaseLostScreen
        message={phase.message}
        notes={phase.notes}
        onNext={() => {
          if (assignment) clearDraft(assignment.id);
          void loadTask(campaign);
        }}
      />
    );

  if (!campaign || !assignment || !draft) return null;
  const dims = campaign.schema.dimensions;

  return (
    <div className="workspace" data-testid="task-view" data-assignment-id={assignment.id}>
      <div className="task-bar">
        <a href="/" onClick={linkClick} className="crumb">
          ← {campaign.name}
        </a>
        <span className="muted small">
          {campaign.progress.done} done · {campaign.progress.remaining} remaining
        </span>
        <span className="spacer" />
        <LeaseTimer
          expiresAt={expiresAt}
          onExpire={() => {
            if (!busyRef.current) setExpired(true);
          }}
        />
        <button
          type="button"
          ref={guidelinesButton}
          onClick={() => setGuidelinesOpen((o) => !o)}
          aria-expanded={guidelinesOpen}
          data-testid="guidelines-toggle"
        >
          Guidelines <kbd>G</kbd>
        </button>
        <button
          type="button"
          onClick={() => setSkipOpen((o) => !o)}
          aria-expanded={skipOpen}
          disabled={busy || expired}
          data-testid="skip-open"
        >
          Skip…
        </button>
      </div>

      <div className="task-grid">
        <section className="stage" aria-label="Video and prompt">
          {assignment.pair ? (
            <PairPlayers
              ref={pairPlayer}
              left={assignment.pair.left}
              right={assignment.pair.right}
              prefetchUrls={assignment.prefetch_urls}
            />
          ) : (
            <VideoPlayer ref={player} video={assignment.video} prefetchUrl={assignment.prefetch_url} />
          )}
          <div className="prompt" data-testid="prompt">
            <h2 className="sr-only">Prompt</h2>
            <p className="prompt-text" data-testid="prompt-text">
              {assignment.prompt.text}
            </p>
            {assignment.prompt.caption && (
              <p className="prompt-caption" data-testid="prompt-caption" tabIndex={0} aria-label="Expanded prompt">
                {assignment.prompt.caption}
              </p>
            )}
          </div>
        </section>

        <section className="panel" aria-label={pairTask ? 'Choices' : 'Ratings'}>
          {expired && (
            <div className="banner banner-error" role="alert" data-testid="lease-expired">
              <strong>Time is up on this task.</strong> The lease expired, so it may go to someone else and cannot
              be submitted.{' '}
              <button type="button" className="primary" onClick={() => void loadTask(campaign, assignment.id)}>
                Get a task
              </button>
            </div>
          )}
          {notice && !expired && (
            <div className="banner" role="status" data-testid="task-notice">
              {notice}{' '}
              <button type="button" className="link-button" onClick={() => setNotice(null)} aria-label="Dismiss message">
                ✕
              </button>
            </div>
          )}
          <SkipDialog open={skipOpen} onSkip={skip} onCancel={() => setSkipOpen(false)} />
          <div className="dimensions" ref={ratingsRef}>
            {dims.map((dim, i) => {
              const shared = {
                dimension: dim,
                index: i,
                value: draft.ratings[dim.key] ?? { rating: null, rationale: '' },
                policy: campaign.rationale_policy,
                focused: i === focusedDim,
                disabled: locked || expired,
                errors: errors[dim.key],
                onRationale: (t: string) => setRationale(dim.key, t),
                onFocusDimension: () => setFocusedDim(i),
              };
              return pairTask ? (
                <PairChooser key={dim.key} {...shared} onChoose={(v) => rate(i, v)} />
              ) : (
                <DimensionRater key={dim.key} {...shared} onRate={(v) => rate(i, v)} />
              );
            })}
          </div>
          <div className="submit-bar">
            <SubmitStatus state={submitState} message={formMessage} dirty={hasWork(draft)} />
            <button
              type="button"
              className="primary"
              onClick={submit}
              disabled={locked || expired}
              data-testid="submit"
              aria-keyshortcuts="Control+Enter Meta+Enter"
            >
              {busy ? 'Saving…' : 'Submit'} <kbd>Ctrl+↵</kbd>
            </button>
          </div>
        </section>
      </div>
      <GuidelinesDrawer
        open={guidelinesOpen}
        title={campaign.name}
        markdown={campaign.guidelines}
        onClose={closeGuidelines}
        shortcuts={pairTask ? PAIR_SHORTCUTS : SHORTCUTS}
      />
    </div>
  );
}
