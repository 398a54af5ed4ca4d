// Imports a function bundle and invokes its handler once, as the Lambda runtime would, printing
// what it answered (or threw) as the last line: `RESULT {"ok": ..., "node": ..., ...}`.
const [bundle, eventJson, timeoutMs = "60000"] = process.argv.slice(2);
const started = Date.now();
const context = {
  awsRequestId: "smoke-request-1",
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  getRemainingTimeInMillis: () => Math.max(0, Number(timeoutMs) - (Date.now() - started)),
};
let outcome;
try {
  const { handler } = await import(bundle);
  outcome = { ok: true, result: await handler(JSON.parse(eventJson), context) };
} catch (error) {
  outcome = { ok: false, error: `${error?.name}: ${error?.message}` };
}
process.stdout.write(`\nRESULT ${JSON.stringify({ node: process.version, ...outcome })}\n`);
