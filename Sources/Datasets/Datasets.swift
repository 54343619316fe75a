import ImageIO
import Augment
import TensorCore
