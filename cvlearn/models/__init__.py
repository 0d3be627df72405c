"""The course's models, one submodule per task; the names used in the notebooks are re-exported here."""

from .classification import SimpleCNN, channel_stats, embeddings, predict_probabilities
from .segmentation import FCN, UNet, colour_clusters, median_frequency_weights, predict_classes
from .detection import DetectorSettings, RCNNSettings, TinyDetector, detect, detection_loader, faster_rcnn, tiny_detector
from .localisation import LocalisationData, LocalisationLoss, Localiser, localise, main_boxes
from .instance import MaskRCNNSettings, maskrcnn, maskrcnn_stock, paste_masks, predict_instances
