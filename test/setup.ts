import "aws-sdk-client-mock-vitest/extend";
import { assertNoContractFailures } from "@spot-manager/aws-fakes";
import { afterAll, afterEach } from "vitest";

// A request AWS would refuse fails the test that sent it, even when the code under test caught the error.
afterEach(assertNoContractFailures);
afterAll(assertNoContractFailures);
