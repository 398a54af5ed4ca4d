export { buildProgram, main } from "./main";
