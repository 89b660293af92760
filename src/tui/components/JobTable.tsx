// The job table: one row per job, the selected one marked; scrolled to keep the selection visible.
import { Box, Text } from 'ink';
import type { JobInfo } from '../../rpc/model.ts';
import { cpuText, jobTitle, memoryText, resultText, runtimeText } from '../model/job-text.ts';
import { scrollOffset, tableColumns, type TableColumns } from '../model/layout.ts';
import { sparkline } from '../model/sparkline.ts';
import type { JobView } from '../model/top-store.ts';

/** Props of JobTable. */
export interface JobTableProps {
  jobs: readonly JobView[];
  selectedId: number | null;
  /** Job rows (the column header is one more). */
  rows: number;
  width: number;
  now: number;
  /** What to say when there are no rows. */
  empty: string;
}

/** The colour of a job's state. */
export function stateColor(job: Pick<JobInfo, 'state' | 'exitCode' | 'oomKilled'>): string {
  if (job.oomKilled) return 'red';
  switch (job.state) {
    case 'running':
      return 'cyan';
    case 'exited':
      return job.exitCode === 0 ? 'green' : 'yellow';
    case 'stopped':
      return 'yellow';
    default:
      return 'red';
  }
}

/** The table. */
export function JobTable({ jobs, selectedId, rows, width, now, empty }: JobTableProps) {
  const cols = tableColumns(width);
  const selected = jobs.findIndex((v) => v.job.id === selectedId);
  const offset = scrollOffset(selected, jobs.length, rows);
  const visible = jobs.slice(offset, offset + rows);
  return (
    <Box flexDirection="column" height={rows + 1}>
      <Row cols={cols} bold cells={['', 'ID', 'NAME/COMMAND', 'OWNER', 'STATE', 'CPU', 'MEMORY/LIMIT', 'RUNTIME', 'RESULT', cols.trend ? 'CPU HISTORY' : '']} />
      {visible.length === 0 ? <Text dimColor>{empty}</Text> : null}
      {visible.map((v) => (
        <JobRow key={v.job.id} view={v} cols={cols} selected={v.job.id === selectedId} now={now} />
      ))}
    </Box>
  );
}

function JobRow({ view, cols, selected, now }: { view: JobView; cols: TableColumns; selected: boolean; now: number }) {
  const { job } = view;
  return (
    <Row
      cols={cols}
      selected={selected}
      stateColor={stateColor(job)}
      cells={[
        selected ? '›' : ' ',
        String(job.id),
        jobTitle(job),
        job.owner,
        job.state,
        cpuText(view),
        memoryText(job),
        runtimeText(job, now),
        resultText(job),
        cols.trend && job.state === 'running' ? sparkline(view.usage.cpu, cols.trend, 100) : '',
      ]}
    />
  );
}

const ORDER: Array<keyof TableColumns> = ['marker', 'id', 'name', 'owner', 'state', 'cpu', 'memory', 'runtime', 'result', 'trend'];
const RIGHT: ReadonlySet<keyof TableColumns> = new Set(['id', 'cpu', 'runtime']);

function Row({ cols, cells, bold, selected, stateColor: color }: { cols: TableColumns; cells: string[]; bold?: boolean; selected?: boolean; stateColor?: string }) {
  return (
    <Box columnGap={1} {...(selected ? { backgroundColor: 'blue' } : {})}>
      {ORDER.map((name, i) =>
        cols[name] > 0 ? (
          <Box key={name} width={cols[name]} flexShrink={0} justifyContent={RIGHT.has(name) ? 'flex-end' : 'flex-start'}>
            <Text wrap="truncate-end" bold={bold || selected} {...(name === 'state' && color ? { color } : {})}>
              {cells[i] ?? ''}
            </Text>
          </Box>
        ) : null,
      )}
    </Box>
  );
}
