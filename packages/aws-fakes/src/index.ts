export { mockClient, type CheckedMockOptions } from "./mock-client";
export {
  AwsContractError,
  assertNoContractFailures,
  checkRequest,
  contractFailures,
  takeContractFailures,
  type ContractFailure,
  type ModelsPolicy,
} from "./contract";
export { validateInput, untranslatablePatterns, type RuleKind, type Violation } from "./validate";
export { compileJavaPattern, translateJavaPattern, UntranslatablePatternError } from "./java-pattern";
export {
  AwsModelsMissingError,
  loadServiceModel,
  modelsDirectory,
  requireModelsDirectory,
  serviceEntry,
  SERVICES,
  MODELS_ENV,
  type ServiceEntry,
  type ServiceModel,
} from "./models";
