// Placeholder: replaced by the test infrastructure (see packages/testing README).
export default async function globalSetup(): Promise<void> {}
