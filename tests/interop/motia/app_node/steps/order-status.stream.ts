export const config = {
  name: 'nodeOrderStatus',
  schema: { type: 'object' },
  baseConfig: { storageType: 'default' as const },
}
