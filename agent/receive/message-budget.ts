// Byte budgets of the DIMSE messages on one association (issue 13): the library buffers a command set, and every
// dataset but a C-STORE's, whole in memory until its last fragment, so each is bounded before a fragment reaches it.
// C-STORE datasets are streamed to the spool and bounded by the disk checks instead.
import { CommandField, DataSetType, parseCommandSet, type CommandElements } from '../dicom/command';
import type { PdvFragment } from '../dicom/pdu-reader';

/** A command set is ~100-200 bytes; PS3.7 sets no limit, 64 KiB leaves room for any real one. */
export const MAX_COMMAND_BYTES = 64 * 1024;
/** limits.maxMessageDatasetKb's default: a Storage Commitment report of ~8000 instances fits. */
export const DEFAULT_MAX_MESSAGE_DATASET_BYTES = 1024 * 1024;

type Expecting = 'command' | 'dataset' | 'store-dataset';

/**
 * Follows the messages of an association as the library does (one message at a time: a command, then its dataset if
 * it announces one) and counts the bytes the library would hold. add() answers why a fragment is over budget, or
 * undefined.
 */
export class MessageBudget {
  private expecting: Expecting = 'command';
  private command: Buffer[] = [];
  private bytes = 0;
  /** Set by the add() whose fragment completed a command set, until the next add(). */
  completed: { commandSet: Buffer; elements: CommandElements; storeDataset: boolean } | undefined;

  constructor(private readonly maxDatasetBytes: number) {}

  add(fragment: PdvFragment): string | undefined {
    this.completed = undefined;
    if (this.expecting === 'store-dataset') {
      // The library streams every fragment of a C-STORE's dataset to its file, whatever its command bit says.
      if (fragment.last) this.expecting = 'command';
      return undefined;
    }
    this.bytes += fragment.value.length;
    if (fragment.command) {
      if (this.bytes > MAX_COMMAND_BYTES) return `command set over ${MAX_COMMAND_BYTES} bytes`;
      this.command.push(fragment.value);
      if (fragment.last) {
        const commandSet = this.command.length === 1 ? this.command[0] : Buffer.concat(this.command);
        const elements = parseCommandSet(commandSet);
        this.expecting = afterCommand(elements);
        this.completed = { commandSet, elements, storeDataset: this.expecting === 'store-dataset' };
      }
    } else {
      if (this.bytes > this.maxDatasetBytes) return `dataset of a message other than C-STORE over ${this.maxDatasetBytes} bytes (limits.maxMessageDatasetKb)`;
      if (fragment.last) this.expecting = 'command';
    }
    if (fragment.last) {
      this.command = [];
      this.bytes = 0;
    }
    return undefined;
  }
}

function afterCommand({ CommandField: field, CommandDataSetType: dataSetType }: CommandElements): Expecting {
  if (dataSetType === undefined || dataSetType === DataSetType.Absent) return 'command';
  return field === CommandField.CStoreRq ? 'store-dataset' : 'dataset';
}
