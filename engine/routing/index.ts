export type {
  CapacityLookup,
  PlannedShipment,
  RouteRequest,
  RouteResult,
  Router,
  RoutingLine,
  ShippingTerms,
  StockLookup
} from "./types.ts"
export { route, splitCandidatesMax } from "./route.ts"
export {
  fixedCostCents,
  formatCents,
  perKgCostCents,
  planTotalCents,
  shipmentCostCents,
  splitPenaltyCents
} from "./cost.ts"
export { candidatesMax } from "./explain.ts"
