// Which jobs are shown (the filter applied, newest first) and which one is selected.
import { matchesFilter } from './job-text.ts';
import type { JobView, TopSnapshot } from './top-store.ts';
import { effectiveSelection, type ViewState } from './view-state.ts';

/** The jobs shown and the selection, for a snapshot and a view state. */
export interface Selection {
  /** The filter in effect (the draft while it is being typed). */
  filter: string;
  jobs: readonly JobView[];
  ids: number[];
  selectedId: number | null;
  selected: JobView | null;
}

/** The jobs shown and the selected one. On the log screen the selection is the job opened, filtered or not. */
export function selection(snap: TopSnapshot, view: ViewState): Selection {
  const filter = view.overlay === 'filter' ? view.draft : view.filter;
  const jobs = filter ? snap.jobs.filter((v) => matchesFilter(v.job, filter)) : snap.jobs;
  const ids = jobs.map((v) => v.job.id);
  const selectedId = view.screen === 'log' ? view.selectedId : effectiveSelection(view, ids);
  const selected = snap.jobs.find((v) => v.job.id === selectedId) ?? null;
  return { filter, jobs, ids, selectedId, selected };
}
