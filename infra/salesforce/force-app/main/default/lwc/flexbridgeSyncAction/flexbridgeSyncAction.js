import { LightningElement, api } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import startSync from '@salesforce/apex/FlexbridgeSyncController.startSync';

const TITLE = 'Sync with FlexNet Operations';

// Headless action: no template; Lightning calls invoke() when the button is pressed.
export default class FlexbridgeSyncAction extends LightningElement {
    @api recordId;

    @api async invoke() {
        try {
            const message = await startSync({ accountId: this.recordId });
            this.toast(message, 'success');
        } catch (error) {
            const message =
                (error && error.body && error.body.message) || 'The sync could not be started.';
            this.toast(message, 'error');
        }
    }

    toast(message, variant) {
        this.dispatchEvent(new ShowToastEvent({ title: TITLE, message, variant }));
    }
}
