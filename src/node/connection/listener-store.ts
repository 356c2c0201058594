/** EventEmitter's listener table, in fast mode: no inherited names, shared hidden classes. */
function ListenerStore(this: object): void {}
ListenerStore.prototype = Object.create(null);
type ListenerStore = {};
export const ListenerStore_ = ListenerStore as unknown as new () => ListenerStore;
