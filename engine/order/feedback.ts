/**
 * Customer feedback (order.feedback): a rating (a whole number 1..5) and a
 * comment (at most feedbackCommentLengthMax characters), taken once every
 * unit of the order that was not cancelled is delivered. One per order: the
 * same feedback again is a repeat (`existing`), other feedback is
 * feedback_exists.
 */
import type { RecordFeedback } from "../domain/commands.ts"
import { reject } from "../domain/errors.ts"
import type { Reply } from "../domain/replies.ts"
import { checkText } from "../domain/validate.ts"
import type { OrderBook } from "./order-book.ts"
import { acceptedOrder, findOrder, type OrderContext } from "./order-context.ts"
import { orderStatus, type OrderStatus } from "./order-view.ts"

/** Order statuses in which feedback is taken. */
const feedbackTaken: ReadonlyArray<OrderStatus> = ["delivered", "partially_returned", "returned"]

export const recordFeedback = (book: OrderBook, c: RecordFeedback, ctx: OrderContext): Reply => {
  const o = findOrder(book, c.orderId, c.channel)
  if ("ok" in o) return o
  if (typeof c.rating !== "number" || !Number.isInteger(c.rating) || c.rating < 1 || c.rating > 5) {
    return reject("malformed_command", "rating must be a whole number from 1 to 5")
  }
  const comment = c.comment ?? ""
  const bad = checkText(comment, "comment", ctx.config.feedbackCommentLengthMax)
  if (bad) return bad
  const existing = o.feedback ?? null
  if (existing !== null) {
    return existing.rating === c.rating && existing.comment === comment ? acceptedOrder(o, true) : reject("feedback_exists")
  }
  const status = orderStatus(o)
  if (!feedbackTaken.includes(status)) return reject("not_delivered", `the order is ${status}; feedback is taken after delivery`)
  ctx.emit({ type: "FeedbackRecorded", orderId: o.orderId, rating: c.rating, comment, at: ctx.now })
  return acceptedOrder(o)
}
