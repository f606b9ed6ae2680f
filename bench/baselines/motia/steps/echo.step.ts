export const config = { type: 'api', name: 'Echo', path: '/echo', method: 'POST', emits: [] }
export const handler = async (req: any) => ({ status: 200, body: req.body })
