// What the user is looking at and doing: the screen, the selected job, the filter, the prompt, a
// passing message. A pure reducer, so every key's effect is testable without a terminal.

/** The two screens. */
export type Screen = 'list' | 'log';

/** What is shown over the screen, taking the keys. */
export type Overlay = null | 'help' | 'filter' | 'confirm-stop';

/** Which output the log views show (Tab cycles). */
export type StreamChoice = 'both' | 'stdout' | 'stderr';

/** A message in the footer until the next key. */
export interface Flash {
  text: string;
  tone: 'info' | 'warn' | 'error';
}

/** The whole view state. */
export interface ViewState {
  screen: Screen;
  overlay: Overlay;
  /** Selected job id (kept across list changes); null selects the first row. */
  selectedId: number | null;
  /** Applied filter text (name, command, owner). */
  filter: string;
  /** Filter text being typed (overlay "filter"). */
  draft: string;
  streams: StreamChoice;
  /** The job a stop is being confirmed for. */
  confirmId: number | null;
  flash: Flash | null;
}

/** A state change. `ids` is the visible job list, top to bottom, when selection depends on it. */
export type ViewAction =
  | { type: 'move'; delta: number; ids: readonly number[] }
  | { type: 'select'; id: number }
  | { type: 'open-log'; id: number }
  | { type: 'close-log' }
  | { type: 'help' }
  | { type: 'close-overlay' }
  | { type: 'filter-start' }
  | { type: 'filter-type'; text: string }
  | { type: 'filter-erase' }
  | { type: 'filter-accept' }
  | { type: 'filter-cancel' }
  | { type: 'cycle-streams' }
  | { type: 'confirm-stop'; id: number }
  | { type: 'flash'; flash: Flash | null };

/** The state at start. */
export const INITIAL_VIEW: ViewState = {
  screen: 'list',
  overlay: null,
  selectedId: null,
  filter: '',
  draft: '',
  streams: 'both',
  confirmId: null,
  flash: null,
};

const NEXT_STREAMS: Record<StreamChoice, StreamChoice> = { both: 'stdout', stdout: 'stderr', stderr: 'both' };

/** The id shown as selected: the chosen one if still listed, else the first. */
export function effectiveSelection(state: Pick<ViewState, 'selectedId'>, ids: readonly number[]): number | null {
  if (state.selectedId !== null && ids.includes(state.selectedId)) return state.selectedId;
  return ids[0] ?? null;
}

/** The reducer. */
export function viewReducer(state: ViewState, action: ViewAction): ViewState {
  switch (action.type) {
    case 'move': {
      if (action.ids.length === 0) return state;
      const current = effectiveSelection(state, action.ids);
      const at = current === null ? 0 : action.ids.indexOf(current);
      const to = Math.max(0, Math.min(action.ids.length - 1, at + action.delta));
      return { ...state, selectedId: action.ids[to] as number, flash: null };
    }
    case 'select':
      return { ...state, selectedId: action.id };
    case 'open-log':
      return { ...state, screen: 'log', selectedId: action.id, overlay: null, flash: null };
    case 'close-log':
      return { ...state, screen: 'list', overlay: null, flash: null };
    case 'help':
      return { ...state, overlay: state.overlay === 'help' ? null : 'help', flash: null };
    case 'close-overlay':
      return { ...state, overlay: null, confirmId: null };
    case 'filter-start':
      return { ...state, overlay: 'filter', draft: state.filter, flash: null };
    case 'filter-type':
      return { ...state, draft: (state.draft + action.text).slice(0, 200) };
    case 'filter-erase':
      return { ...state, draft: [...state.draft].slice(0, -1).join('') };
    case 'filter-accept':
      return { ...state, overlay: null, filter: state.draft.trim() };
    case 'filter-cancel':
      return { ...state, overlay: null, draft: '', filter: '' };
    case 'cycle-streams':
      return { ...state, streams: NEXT_STREAMS[state.streams] };
    case 'confirm-stop':
      return { ...state, overlay: 'confirm-stop', confirmId: action.id, flash: null };
    case 'flash':
      return { ...state, flash: action.flash };
  }
}
