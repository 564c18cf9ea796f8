-- wrk script for bench/mock_capacity.sh: every connection POSTs one streaming
-- completion long enough to last the whole run, so each connection is one
-- open stream and every token is one SSE event (one TCP segment).
wrk.method = "POST"
wrk.path = "/v1/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"llmload-mock","prompt":"capacity","stream":true,' ..
           '"max_tokens":1000000,"ignore_eos":true}'
