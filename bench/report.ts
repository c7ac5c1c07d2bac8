// Formats the runner's results: a plain-text table for the terminal and BENCHMARKS.md.
import type { Measurement } from './load.ts'

export interface ResultRow {
  scenario: string
  server: string
  measurement: Measurement
}

export interface Check {
  name: string
  value: string
  target: string
  /** Undefined for figures reported without a target. */
  met?: boolean
}

export interface Report {
  date: Date
  machine: string[]
  settings: string[]
  rows: ResultRow[]
  checks: Check[]
  notes: string[]
  preamble?: string
}

const mib = (bytes?: number) => (bytes === undefined ? '–' : `${Math.round(bytes / 1024 / 1024)}`)
const ms = (value: number) => (Number.isNaN(value) ? '–' : value < 10 ? value.toFixed(2) : value.toFixed(1))
const perSecond = (value: number) => Math.round(value).toLocaleString('en')

export function cells(row: ResultRow): string[] {
  const m = row.measurement
  return [
    row.scenario,
    row.server,
    perSecond(m.requestsPerSecond),
    ms(m.p50),
    ms(m.p99),
    `${m.errors} / ${m.non2xx}`,
    `${mib(m.rssMax)} / ${mib(m.rssEnd)}`
  ]
}

const headings = ['Scenario', 'Server', 'req/s', 'p50 ms', 'p99 ms', 'errors / non-2xx', 'RSS max / end MiB']

export function textTable(rows: ResultRow[]): string {
  const table = [headings, ...rows.map(cells)]
  const widths = headings.map((_, i) => Math.max(...table.map((line) => line[i].length)))
  const line = (values: string[]) =>
    values.map((value, i) => (i >= 2 ? value.padStart(widths[i]) : value.padEnd(widths[i]))).join('  ')
  return [line(table[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line)].join('\n')
}

function verdict(check: Check): string {
  if (check.met === undefined) return 'info'
  return check.met ? 'met' : '**not met**'
}

export function markdown(report: Report): string {
  const escape = (value: string) => value.replaceAll('|', '\\|')
  const row = (values: string[]) => `| ${values.map(escape).join(' | ')} |`
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` on ${report.date
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC')}. ` +
      'The method, and what each reference server stands for, is in [docs/performance.md](docs/performance.md).',
    ''
  ]
  if (report.preamble) lines.push(`> ${report.preamble}`, '')
  lines.push('## Machine', '', ...report.machine.map((item) => `- ${item}`), '')
  lines.push('## Settings', '', ...report.settings.map((item) => `- ${item}`), '')
  lines.push(
    '## Results',
    '',
    'Latencies are per request over the measured period (warm-up excluded), 2xx responses only. ' +
      'RSS is the measured server process, sampled every 250 ms.',
    '',
    row(headings),
    row(headings.map((_, i) => (i >= 2 ? '---:' : '---'))),
    ...report.rows.map((r) => row(cells(r))),
    ''
  )
  lines.push(
    '## Targets',
    '',
    row(['Check', 'Value', 'Target', 'Verdict']),
    row(['---', '---:', '---', '---']),
    ...report.checks.map((c) => row([c.name, c.value, c.target, verdict(c)])),
    ''
  )
  if (report.notes.length > 0) lines.push('## Notes', '', ...report.notes.map((note) => `- ${note}`), '')
  return lines.join('\n')
}
