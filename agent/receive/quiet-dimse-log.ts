import { log } from 'dcmjs-dimse';

// dcmjs-dimse logs every association and DIMSE message at info level through its own logger, with dataset
// contents at debug: our logs say what matters, without patient data, so the library only reports errors.
log.setLevel('error');
