-- The incarnation of the compute agent that runs each host (its job pool's
-- lease owner), written when the agent registers (issue 7 §3). A restarted
-- agent supersedes its predecessor: it takes back at once the jobs of its
-- host that the previous process still held, instead of waiting for their
-- leases to expire; and an agent that finds itself superseded stops.
ALTER TABLE hosts ADD COLUMN agent_id VARCHAR(128) NOT NULL DEFAULT '';
