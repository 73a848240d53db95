// Small pieces shared by the end-to-end harness: child processes that die with the harness, free
// ports, a check runner that reports every failure with its message, and HTTP(S) requests.
//
// Only node built-ins here: run.mjs imports this before it knows that node_modules is installed.

import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Child processes. Every process started through spawnChild() is killed when the harness exits,
// however it exits (normal end, uncaught exception, failed assertion, SIGINT/SIGTERM from ctest's
// timeout), so no anvil or txguard outlives a failed run.

const children = new Set();

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try { child.kill('SIGKILL'); } catch { /* already gone */ }
    }
  }
  children.clear();
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killAll();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

/** spawn() with stdio captured; the child is killed when this process exits. */
export function spawnChild(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  child.stdoutText = '';
  child.stderrText = '';
  child.stdout?.on('data', (d) => { child.stdoutText += d.toString(); });
  child.stderr?.on('data', (d) => { child.stderrText += d.toString(); });
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => { children.delete(child); resolve({ code, signal }); });
    child.on('error', (error) => { children.delete(child); resolve({ code: null, signal: null, error }); });
  });
  return child;
}

/** Runs a command to completion: {code, stdout, stderr}. */
export async function runCommand(command, args, options = {}) {
  const child = spawnChild(command, args, options);
  const { code, error } = await child.exited;
  if (error) throw new Error(`cannot run ${command}: ${error.message}`);
  return { code, stdout: child.stdoutText, stderr: child.stderrText };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the caller retries if it is taken since). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Checks. A scenario is a sequence of named checks; a failing check is reported with its message
// and the run goes on to the next one (each check sets up what it needs), so one run shows every
// place where the server and the contract disagree.

export class Checks {
  constructor(out = process.stdout) {
    this.out = out;
    this.passed = 0;
    this.failed = [];
    this.prefix = '';
  }

  /** Runs fn; a thrown error marks the check failed. Returns fn's value, or undefined on failure. */
  async check(name, fn) {
    const full = this.prefix ? `${this.prefix}: ${name}` : name;
    const started = Date.now();
    try {
      const value = await fn();
      this.passed += 1;
      this.out.write(`ok     ${full} (${Date.now() - started} ms)\n`);
      return value;
    } catch (error) {
      this.failed.push({ name: full, error });
      const detail = error?.stack && !(error instanceof ExpectationError) ? error.stack : error?.message ?? String(error);
      this.out.write(`FAILED ${full}\n${indent(detail)}\n`);
      return undefined;
    }
  }
}

function indent(text) {
  return String(text).split('\n').map((line) => `         ${line}`).join('\n');
}

/** A failed expectation: reported with its message only (the stack is the harness's, not news). */
export class ExpectationError extends Error {}

/** Fails with message (and the actual value, JSON, if given) unless condition holds. */
export function expect(condition, message, actual) {
  if (!condition) {
    const shown = actual === undefined ? '' : `\n  got: ${stringify(actual)}`;
    throw new ExpectationError(`${message}${shown}`);
  }
}

export function expectEqual(actual, expected, message) {
  if (stringify(actual) !== stringify(expected)) {
    throw new ExpectationError(`${message}\n  expected: ${stringify(expected)}\n  got:      ${stringify(actual)}`);
  }
}

export function stringify(value) {
  return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

// ---------------------------------------------------------------------------------------------
// HTTP. Plain node:http(s) so a test sees exactly the status, headers and body the server sent.

/**
 * Sends one request: {method, url, headers, body (object -> JSON, string as is), tls: {ca, cert, key}}.
 * Resolves {status, headers, text, json (parsed or undefined)}; rejects on connection/TLS errors.
 */
export function httpCall({ method = 'GET', url, headers = {}, body, tls, timeoutMs = 15000 }) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const allHeaders = { ...headers };
    if (payload !== undefined) {
      allHeaders['content-type'] ??= 'application/json';
      allHeaders['content-length'] = Buffer.byteLength(payload);
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, { method, headers: allHeaders, agent: false, ...(tls ?? {}) }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Short description of a response for failure messages. */
export function describeResponse(res) {
  const text = res.text.length > 1500 ? `${res.text.slice(0, 1500)}...` : res.text;
  return `HTTP ${res.status} ${text}`;
}
