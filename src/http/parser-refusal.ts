import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { clientOfAddress } from './client-key.js';
import { refusalBody } from './refusal.js';

/**
 * What Node's HTTP parser refuses before (or while) a request reaches the chain, as counted:
 * `--headers-timeout-ms` (the headers not in by then), `--request-timeout-ms` (the body not in by
 * then), headers over Node's 16 KB, and a request it cannot parse (a bad request line, a bad
 * header, Transfer-Encoding with Content-Length).
 */
export type ParserRefusal = 'headers-timeout' | 'request-timeout' | 'headers-too-large' | 'bad-request';

/**
 * Every parser refusal with how it is answered: its status, and the text of the status line and of
 * the message (the metric's series exist at 0 from the start, by reason and status).
 */
export const PARSER_REFUSALS: Readonly<Record<ParserRefusal, { readonly status: number; readonly message: string }>> = {
  'headers-timeout': { status: 408, message: 'Request Timeout' },
  'request-timeout': { status: 408, message: 'Request Timeout' },
  'headers-too-large': { status: 431, message: 'Request Header Fields Too Large' },
  'bad-request': { status: 400, message: 'Bad Request' },
};

/** On a response whose request the parser ended (its body timed out): the status it was answered with. */
const ANSWERED_BY_PARSER = Symbol('answeredByParser');
type Marked = ServerResponse & { [ANSWERED_BY_PARSER]?: number };

/**
 * The status the parser answered this request's connection with, if it did: the chain then finds
 * the request gone, and records this status instead of 499 (the client did not go away, it was cut off).
 */
export function answeredByParser(res: ServerResponse): number | undefined {
  return (res as Marked)[ANSWERED_BY_PARSER];
}

/**
 * The server's `clientError` handler: a refusal answered as JSON, then the connection closes; told
 * to `refused` (counted by reason in /metrics, logged at INFO within the refusal budget), as the
 * chain's refusals are. A request whose body timed out is marked (`answeredByParser`).
 */
export function clientErrorHandler(refused: (reason: ParserRefusal, status: number, client: string, code: string | undefined) => void) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    // The request being read, when the parser had its headers (then it is the body that timed out).
    const response = (socket as Socket & { _httpMessage?: Marked | null })._httpMessage ?? undefined;
    // Nothing can be said on a reset socket, or in the middle of another answer on it.
    const answering = response?.headersSent ?? false;
    if (!socket.writable || err.code === 'ECONNRESET' || answering) {
      socket.destroy();
      // A limit that closed a connection it could not answer on is still counted (status 0).
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && answering)
        refused('request-timeout', 0, clientOfAddress(socket.remoteAddress), err.code);
      return;
    }
    // A client that closed its side in the middle of its request is answered (it may still read),
    // but it went away: its request finds that (499), and it sent nothing wrong to count.
    const cutShort = err.code === 'HPE_INVALID_EOF_STATE';
    const reason: ParserRefusal =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? response
          ? 'request-timeout'
          : 'headers-timeout'
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? 'headers-too-large'
          : 'bad-request';
    const { status, message: text } = PARSER_REFUSALS[reason];
    if (!cutShort) {
      if (response) response[ANSWERED_BY_PARSER] = status;
      refused(reason, status, clientOfAddress(socket.remoteAddress), err.code);
    }
    const body = JSON.stringify(refusalBody('/', { code: 'BAD_REQUEST', message: text }));
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  };
}
