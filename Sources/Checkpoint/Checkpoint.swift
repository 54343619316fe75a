// safetensors and .pth readers
