// End-to-end scenario with the generated TypeScript client (openapi-typescript types and
// openapi-fetch, see scripts/clients), run by tests/api/clients.rs against a live service holding
// the demo data: find an eligible upgrade, dry-run it, perform it, read the reassignment list.
// Usage: node scenario.js BASE_URL TOKEN CUSTOMER_ID SUBSCRIPTION_ID
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

// Node's global, declared here so that the scenario needs no @types/node.
declare const process: { argv: string[] };

function check(condition: unknown, message: string): asserts condition {
  if (!condition) {
    throw new Error(message);
  }
}

const [baseUrl, token, customerId, subscriptionId] = process.argv.slice(2);
const client = createClient<paths>({
  baseUrl,
  headers: { Authorization: `Bearer ${token}` },
});
const where = { path: { customerId, subscriptionId } };
const upgrades = "/v1/customers/{customerId}/subscriptions/{subscriptionId}/upgrades";

const options = await client.GET(upgrades, { params: where });
check(options.data, `options: ${JSON.stringify(options.error)}`);
const eligible = options.data.items.filter((option) => option.eligible);
check(eligible.length > 0, "an eligible upgrade");
check(
  options.data.items.every((option) => option.eligible || option.failures.length > 0),
  "every refusal says why",
);
const targetOfferId = eligible[0].targetOfferId;

const preview = await client.POST(upgrades, {
  params: where,
  body: { targetOfferId, dryRun: true },
});
check(preview.response.status === 200 && preview.data?.dryRun, "a dry run answers 200");

const performed = await client.POST(upgrades, {
  params: { ...where, header: { "Idempotency-Key": crypto.randomUUID() } },
  body: { targetOfferId },
});
check(performed.response.status === 201 && performed.data, `performed: ${JSON.stringify(performed.error)}`);
const result = performed.data;
check(
  JSON.stringify(result.accountsRequiringReassignment) ===
    JSON.stringify(preview.data.accountsRequiringReassignment),
  "the dry run foretold the reassignment list",
);

const upgradeId = result.upgradeId;
check(upgradeId, "an upgrade id");
const recorded = await client.GET("/v1/customers/{customerId}/upgrades/{upgradeId}", {
  params: { path: { customerId, upgradeId } },
});
console.log(
  JSON.stringify({
    targetOfferId: result.targetOfferId,
    upgradeId,
    recorded: recorded.data?.id === upgradeId,
    transferredUsers: result.transferredUsers,
    accountsRequiringReassignment: result.accountsRequiringReassignment.map((account) => ({
      email: account.email,
      reasons: account.reasons.map((reason) => reason.code),
    })),
  }),
);
