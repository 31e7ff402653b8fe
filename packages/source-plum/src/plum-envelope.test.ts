import { describe, expect, it } from 'vitest';
import { decodeEnvelope, listOf, totalOf, unescapeSlashes } from './plum-envelope.js';

describe('Plum envelope decoding', () => {
  it("surfaces the error text of the vendor's trailing-comma failure JSON", () => {
    expect(decodeEnvelope('{"status":"failure","error":"Unauthorized access to sample service",}', 'json', '/x')).toEqual({ status: 'failure', error: 'Unauthorized access to sample service', result: undefined });
  });

  it('reads the vendor XML samples: failure, one-element list, empty list, \\/ kept literally', () => {
    expect(decodeEnvelope('<sample><status>failure</status><error>Unauthorized access to sample service</error></sample>', 'xml', '/x')).toMatchObject({ status: 'failure', error: 'Unauthorized access to sample service' });
    const one = decodeEnvelope('<?xml version="1.0"?><sessions><status>success</status><error/><result><total_sessions>1</total_sessions><sessions><session>inbound 7185551234 3 [03\\/Nov\\/2017:14:38:30 -0500] 6177123000 200035;003;1509734279 1509734310 1509734339 00:00:29</session></sessions></result></sessions>', 'xml', '/x');
    expect(one.error).toBe('');
    const lines = listOf(one.result, 'sessions', 'session') as string[];
    expect(lines).toHaveLength(1);
    expect(unescapeSlashes(lines[0]!)).toContain('[03/Nov/2017:14:38:30 -0500]');
    const empty = decodeEnvelope('<?xml version="1.0"?><logs><status>success</status><error></error><result><total_logs>0</total_logs><logs/></result></logs>', 'xml', '/x');
    expect(listOf(empty.result, 'logs', 'log')).toEqual([]);
    expect(totalOf(empty.result, 'total_logs', '/x')).toBe(0);
  });

  it('reads the vendor calls/logs JSON sample', () => {
    const e = decodeEnvelope('{"status":"success","error":"","result":{"total_logs":"1234","logs":[{"log_id":"421752831","session_id":"400050;000;1510159646","dest":"6177123000","type":"inbound","src":"2125551234","start":"1510159657","end":"1510159689"}]}}', 'json', '/x');
    expect(totalOf(e.result, 'total_logs', '/x')).toBe(1234);
    expect(listOf(e.result, 'logs', 'log')).toHaveLength(1);
  });

  it('refuses truncated bodies with a retriable PLUM_BAD_BODY', () => {
    expect(() => decodeEnvelope('{"status":"success","error":"","result":{"total_lo', 'json', '/x')).toThrow(expect.objectContaining({ code: 'PLUM_BAD_BODY', retriable: true }));
    expect(() => decodeEnvelope('<?xml version="1.0"?><logs><status>success</status><result><total_lo', 'xml', '/x')).toThrow(expect.objectContaining({ code: 'PLUM_BAD_BODY', retriable: true }));
  });
});
