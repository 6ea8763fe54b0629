/**
 * Imported first by the prediction benchmarks (before anything loads graphql): the process runs with
 * NODE_ENV=production in its environment, as a deployed server does (the benchmarks also hand it to loadConfig).
 * graphql-js reads it once, when it loads: without it every `instanceOf` check of validation and execution takes its
 * development path (a cross-realm class-name comparison), which no production server pays.
 */
process.env.NODE_ENV = 'production';
