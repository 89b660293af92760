import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatDurationInput, formatSizeInput, parseBytes, parseCpu, parseDuration } from '../../src/rpc/parse-size.ts';
import { throwsCoded } from './assert-error.ts';

test('parseBytes: binary multiples, suffix forms, case', () => {
  const table: Array<[string, number]> = [
    ['1024', 1024],
    ['0', 0],
    ['512k', 512 * 1024],
    ['512K', 512 * 1024],
    ['512KB', 512 * 1024],
    ['512KiB', 512 * 1024],
    ['512kib', 512 * 1024],
    ['256M', 256 * 2 ** 20],
    ['256 MiB', 256 * 2 ** 20],
    ['1.5G', 1.5 * 2 ** 30],
    ['1.5g', 1.5 * 2 ** 30],
    ['2T', 2 * 2 ** 40],
    ['1P', 2 ** 50],
    ['.5k', 512],
    ['100b', 100],
    ['100B', 100],
    [' 10M ', 10 * 2 ** 20],
    ['0.3k', 307], // rounded to a whole byte
  ];
  for (const [text, bytes] of table) assert.equal(parseBytes(text), bytes, text);
});

test('parseBytes: refusals name the field and the format', () => {
  for (const text of ['', 'M', '-1', '1e6', '1,5G', '10X', '512iB', 'ten', '1.5', '1.5b', '1 0M', '0x10', 'Infinity']) {
    throwsCoded(() => parseBytes(text, '--memory'), 'INVALID_ARGUMENT', /^invalid --memory /, /size like|whole number/);
  }
  throwsCoded(() => parseBytes('99999999P', '--memory'), 'INVALID_ARGUMENT', /at most 9007199254740991 bytes/);
});

test('parseDuration: ms, s, m, h, bare seconds', () => {
  const table: Array<[string, number]> = [
    ['10', 10_000],
    ['10s', 10_000],
    ['10S', 10_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['0', 0],
    ['0.25', 250],
    [' 3 s ', 3000],
  ];
  for (const [text, ms] of table) assert.equal(parseDuration(text), ms, text);
  for (const text of ['', 's', '-1s', '10d', '1m30s', '1e3', 'soon']) {
    throwsCoded(() => parseDuration(text, '--grace'), 'INVALID_ARGUMENT', /^invalid --grace .*a duration like 500ms, 10s, 2m, 1h or 10 \(seconds\)/);
  }
});

test('parseCpu: plain decimals only', () => {
  assert.equal(parseCpu('0.5'), 0.5);
  assert.equal(parseCpu('2'), 2);
  assert.equal(parseCpu('.25'), 0.25);
  for (const text of ['', '-1', '1e2', 'half', '50%', '0x1', 'NaN']) {
    throwsCoded(() => parseCpu(text, '--cpu'), 'INVALID_ARGUMENT', /^invalid --cpu .*CPU cores like 0\.5/);
  }
});

test('formatBytes: largest unit, one decimal at most', () => {
  const table: Array<[number, string]> = [
    [0, '0 B'],
    [512, '512 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [256 * 2 ** 20, '256 MiB'],
    [1.5 * 2 ** 30, '1.5 GiB'],
    [2 ** 20 - 1, '1 MiB'],
    [2 ** 50, '1 PiB'],
    [-2048, '-2 KiB'],
  ];
  for (const [n, text] of table) assert.equal(formatBytes(n), text, String(n));
  for (const [text] of [['256M'], ['1.5G'], ['512k']] as const) assert.equal(parseBytes(formatBytes(parseBytes(text)).replace(' ', '')), parseBytes(text));
});

test('formatSizeInput and formatDurationInput: exact, in the largest unit, and read back by the parsers', () => {
  const sizes: Array<[number, string]> = [[2 ** 20, '1MiB'], [2 ** 50, '1PiB'], [100 * 2 ** 30, '100GiB'], [1536 * 2 ** 20, '1536MiB'], [1000, '1000B'], [0, '0B']];
  for (const [n, text] of sizes) {
    assert.equal(formatSizeInput(n), text);
    assert.equal(parseBytes(text), n, text);
  }
  const durations: Array<[number, string]> = [[0, '0s'], [3_600_000, '1h'], [90_000, '90s'], [120_000, '2m'], [1500, '1500ms']];
  for (const [ms, text] of durations) {
    assert.equal(formatDurationInput(ms), text);
    assert.equal(parseDuration(text), ms, text);
  }
});
